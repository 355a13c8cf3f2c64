"""The optional fast JSON backend: ``orjson``, used when it is installed.

``pip install "segment-web[speedups]"`` brings it in; nothing needs configuring. The
standard library's encoder stays the reference: for any message, what ``orjson`` writes
is used only where it is byte for byte what the standard library writes, and every other
case (and every error) goes to the standard-library path, which decides the result and
names the field. So the wire bytes, the 32 KB limit and every ``ValidationError`` are the
same with or without the extra.

Where the two would differ, ``orjson`` declines and the standard library encodes:

- keys that are not strings (``orjson`` refuses them; the standard-library path also
  checks that no two collide once made strings),
- integers beyond 64 bits and strings with lone surrogates (``orjson`` refuses them),
- floats below 1e-4 in magnitude (``orjson`` writes ``1e-5`` as ``0.00001`` and ``1e-7``
  as ``1e-7``, the standard library ``1e-05`` and ``1e-07``): output holding a digit
  followed by ``e-``, or ``0.0000``, is encoded again by the standard library,
- types ``orjson`` does not know natively and the conversion hook cannot turn into JSON
  (float subclasses, for instance).

An ``orjson`` release that writes the probe floats differently (before 3.11.7, which wrote
``1e16`` for ``1e+16``) is not used at all. Datetimes, dates, times and dataclasses are
passed to the same conversion hook the standard-library path uses, so their text is
identical by construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # the extra is not installed: the standard library does everything
    orjson = None  # type: ignore[assignment]

BACKEND = "orjson" if orjson is not None else "json"

FastEncode = Callable[[Any], "bytes | None"]

# Floats whose text differs between the two encoders all have a magnitude below 1e-4,
# and orjson writes each of them as "<digit>e-<digits>" ending where the number ends (at
# ",", "]" or "}"), or as "0.0000…". The end matters: a messageId's "…4e-3b44-…" is
# not a number. (A literal first, then look-arounds: the scan runs at C speed.)
_SMALL_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)[0-9]+(?:[,\]}]|\Z)")
# json.loads keeps integers of any size; orjson.loads turns those beyond 64 bits into
# floats. Twenty digits in a row is where that can start. (Found by mapping every digit
# to "0" and looking for twenty zeros: two C loops, where a regex would step per byte.)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20


# Floats at the edges of each notation: orjson before 3.11.7 wrote 1e16 as "1e16", where
# the standard library writes "1e+16"; such a release is not used.
_PROBE = [1e16, 2.28e274, -1.5e-7, 1e-5, 1e-4, 0.1, 100.0, -0.0, 5e-324, 1.7976931348623157e308]


def fast_encoder(
    default: Callable[[Any], Any], reference: Callable[[Any], bytes]
) -> FastEncode | None:
    """An encoder giving ``reference``'s bytes or None (meaning: use ``reference``).

    None without ``orjson``, or when the installed release writes the probe floats
    differently from ``reference``.
    """
    if orjson is None:
        return None
    dumps = orjson.dumps
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    small_exponent = _SMALL_EXPONENT.search

    def encode(value: Any) -> bytes | None:
        try:
            payload = dumps(value, default=default, option=options)
        except Exception:  # the standard-library path decides, and names the field
            return None
        # find() first: a plain substring search costs a quarter of the regex.
        exponent = payload.find(b"e-")
        if exponent >= 0 and small_exponent(payload, exponent) is not None:
            return None
        if payload.find(b"0.0000") >= 0:
            return None
        # orjson's bytes keep the buffer it wrote into (4 KB and up) however short the
        # JSON: stored for delivery, 10,000 messages held 39 MB instead of 5. A copy has
        # its own size.
        return memoryview(payload).tobytes()

    if any(encode([number]) not in (None, reference([number])) for number in _PROBE):
        return None
    return encode


def loads(payload: bytes) -> Any:
    """The value of a payload this package encoded, as ``json.loads`` reads it."""
    if orjson is not None and _TWENTY_DIGITS not in payload.translate(_DIGITS_AS_ZERO):
        return orjson.loads(payload)
    return json.loads(payload)
