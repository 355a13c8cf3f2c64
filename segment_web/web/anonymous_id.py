"""The anonymous id: read from analytics.js's cookie, or made and set as that cookie."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

MAX_LENGTH = 200  # characters; analytics.js ids are 36
# Not an id a browser could have been given: control characters, lone surrogates (a
# JSON-quoted "\ud800"), and U+FFFD, which stands for bytes that were not UTF-8.
_UNUSABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def new_anonymous_id() -> str:
    """A fresh id for a visitor. The browser keeps it for a year and it joins all their
    events, so it comes from the operating system's random source (``uuid.uuid4``): ids
    drawn from a fast generator would let whoever collects enough of them predict
    other visitors' ids."""
    return str(uuid.uuid4())


def read_anonymous_id(raw: str | None) -> str | None:
    """The id in an ``ajs_anonymous_id`` cookie, or None when there is no usable one.

    URL-decoded, and JSON-unquoted when it is a JSON string (classic analytics.js wrote
    ``%22…%22``). Empty, longer than ``MAX_LENGTH``, or holding control characters,
    lone surrogates or undecodable bytes: unusable, so the request gets a new id and the
    browser a new cookie instead of every message failing validation.
    """
    if not raw:
        return None
    if raw.startswith("%22") and raw.endswith("%22"):  # the classic format
        inner = raw[3:-3]
        if not inner:  # "%22%22", or "%22" alone
            return None
        # Its common case, without unquote, json or a regex: printable ASCII holding nothing
        # to decode (no %, quote, backslash or space: the only whitespace such text has).
        if (
            len(inner) <= MAX_LENGTH
            and inner.isascii()
            and inner.isprintable()
            and "%" not in inner
            and '"' not in inner
            and "\\" not in inner
            and " " not in inner
        ):
            return inner
    value = unquote(raw).strip()
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            value = decoded.strip()
    return _usable(value)


def _usable(value: str) -> str | None:
    if not value or len(value) > MAX_LENGTH:
        return None
    if value.isascii() and value.isprintable():  # the common case, without the regex
        return value
    return None if _UNUSABLE.search(value) else value


@dataclass(frozen=True)
class AnonymousIdCookie:
    """The anonymous-id cookie to set; ``kwargs()`` fits Django's and Flask's set_cookie."""

    name: str
    value: str
    max_age: int
    secure: bool
    domain: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "key": self.name,
            "value": self.value,
            "max_age": self.max_age,
            "path": "/",
            "domain": self.domain,
            "secure": self.secure,
            "httponly": False,  # analytics.js in the browser must read it
            "samesite": "Lax",
        }

    def header(self) -> str:
        """The ``Set-Cookie`` header value, for adapters that write raw headers."""
        parts = [f"{self.name}={self.value}", "Path=/", f"Max-Age={self.max_age}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.secure:
            parts.append("Secure")
        parts.append("SameSite=Lax")
        return "; ".join(parts)
