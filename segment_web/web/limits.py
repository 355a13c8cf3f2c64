"""Bounds on request-derived values, so request data alone never makes a message
invalid or oversized.

A message may be at most 32 KB of JSON, and JSON escaping can make one character cost
up to six bytes (``\\u0001``). Each value taken from a request is therefore cut to a
number of *JSON bytes* — its length once encoded as it will be sent (UTF-8, escapes
included) — at a character boundary, and lone surrogates (which no JSON encoder can
write as UTF-8) become U+FFFD. With every limit at its maximum, the request's part of a
message stays under 17 KB, leaving the rest of the 32 KB to the caller's own fields.
"""

from __future__ import annotations

import re
from json.encoder import encode_basestring

# Maximum JSON bytes per value (plain ASCII text: that many characters).
USER_AGENT = 1024
URL = 2048
PATH = 1024
SEARCH = 1024
REFERRER = 2048
CAMPAIGN_VALUE = 256
LOCALE = 64
CONSENT_NAME = 128  # one consent category or destination name
CONSENT_BYTES = 2048  # the category → bool (or destination → bool) mapping, whole
CONSENT_COOKIE = 4096  # characters of a consent-manager cookie (a browser's cookie limit)

WORST_BYTES_PER_CHAR = 6  # a control character escaped as \uXXXX
_SURROGATE = re.compile("[\ud800-\udfff]")


def bounded(value: str, max_bytes: int) -> str:
    """``value`` cut to at most ``max_bytes`` of JSON, never inside a character."""
    if len(value) * WORST_BYTES_PER_CHAR <= max_bytes:  # the common, short case
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    value = _without_surrogates(value)
    if json_size(value) <= max_bytes:
        return value
    used = 0
    for index, char in enumerate(value):
        used += json_size(char)
        if used > max_bytes:
            return value[:index]
    return value


def json_size(value: str) -> int:
    """The bytes ``value`` takes in a UTF-8 JSON document, quotes not counted."""
    return len(encode_basestring(value).encode("utf-8")) - 2


def _without_surrogates(value: str) -> str:
    if value.isascii():
        return value
    return _SURROGATE.sub("\ufffd", value)
