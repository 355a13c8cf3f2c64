"""Consent values from outside the library, made safe to send: the app's ``consent``
callable's answer, and the ``tracking-preferences`` cookie of Segment's open-source
consent manager (``@segment/consent-manager``).

That cookie is JSON written by js-cookie (which percent-encodes some characters)::

    {"version": 1,
     "destinations": {"Google Analytics": true, "Hotjar": false},
     "custom": {"marketingAndAnalytics": true, "advertising": false, "functional": true}}

``custom`` holds the visitor's choice per category (→ ``categoryPreferences``) and
``destinations`` per destination (→ the message's ``integrations``). A cookie is the
visitor's to change: one that is too large, not that JSON, or holds anything but
names → true/false is ignored whole, logged at debug level, never an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from segment_web.web import limits

logger = logging.getLogger("segment_web")

CONSENT_MANAGER_COOKIE = "tracking-preferences"
_COOKIE_VERSION = 1


@dataclass(frozen=True)
class TrackingPreferences:
    """A consent-manager cookie, read: category → bool and destination → bool."""

    categories: dict[str, bool]
    destinations: dict[str, bool]


class _Unusable(ValueError):
    """Why a consent value is not used (the message of the debug or warning log)."""


def read_tracking_preferences(raw: str | None) -> TrackingPreferences | None:
    """The consent-manager cookie's preferences, or None when it is absent or unusable."""
    if not raw:
        return None
    try:
        return _parse_cookie(raw)
    except _Unusable as problem:
        logger.debug("segment_web: consent cookie ignored: %s", problem)
        return None


def category_preferences(value: Any, *, source: str) -> dict[str, bool]:
    """``value`` (a ``consent`` callable's answer) as category → bool; None means
    unknown. The app's own mistake — not a mapping of names to True/False, too large —
    is logged as a warning and the answer counts as unknown."""
    if value is None:
        return {}
    try:
        return _flags(value, source)
    except _Unusable as problem:
        logger.warning("segment_web: consent unknown for this request: %s", problem)
        return {}


def _parse_cookie(raw: str) -> TrackingPreferences:
    if len(raw) > limits.CONSENT_COOKIE:
        raise _Unusable(f"{len(raw)} characters, more than {limits.CONSENT_COOKIE}")
    data = _json(raw)
    if not isinstance(data, dict):
        raise _Unusable("not a JSON object")
    version = data.get("version", _COOKIE_VERSION)
    if version != _COOKIE_VERSION or isinstance(version, bool):
        raise _Unusable(f"unknown version {version!r}")
    return TrackingPreferences(
        categories=_flags(data.get("custom") or {}, "its 'custom'"),
        destinations=_flags(data.get("destinations") or {}, "its 'destinations'"),
    )


def _json(raw: str) -> Any:
    text = raw.strip()
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        text = text[1:-1]  # a quoted cookie value
    for candidate in (text, unquote(text)):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deep
            continue
    raise _Unusable("not JSON")


def _flags(value: Any, source: str) -> dict[str, bool]:
    """Names → True/False, bounded so a request's consent never crowds a message."""
    if not isinstance(value, Mapping):
        raise _Unusable(f"{source} is {type(value).__name__}, not a mapping of names to bools")
    flags: dict[str, bool] = {}
    used = 0
    for name, flag in value.items():
        if not isinstance(name, str) or not name or not isinstance(flag, bool):
            raise _Unusable(f"{source} has {name!r}: {flag!r}; expected a name and True/False")
        if _has_surrogate(name):
            raise _Unusable(f"{source} has a name that is not valid Unicode")
        size = limits.json_size(name)
        if size > limits.CONSENT_NAME:
            raise _Unusable(f"{source} has a name of {size} JSON bytes, over {limits.CONSENT_NAME}")
        used += size + 8  # the quotes, colon, comma and "false"
        if used > limits.CONSENT_BYTES:
            raise _Unusable(f"{source} takes more than {limits.CONSENT_BYTES} JSON bytes")
        flags[name] = flag
    return flags


def _has_surrogate(name: str) -> bool:
    return not name.isascii() and any("\ud800" <= char <= "\udfff" for char in name)
