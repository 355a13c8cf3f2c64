"""``tracking-preferences`` cookie values as Segment's consent manager writes them, and
as a visitor could tamper with them."""

from __future__ import annotations

import json
from urllib.parse import quote

NAME = "tracking-preferences"
CUSTOM = {"marketingAndAnalytics": True, "advertising": False, "functional": True}
DESTINATIONS = {"Google Analytics": True, "Hotjar": False}


def as_js_cookie(data: object) -> str:
    """``data`` as js-cookie stores an object: JSON, percent-encoded except for the
    characters js-cookie leaves readable (``{}:[]`` and a few more)."""
    return quote(json.dumps(data, separators=(",", ":")), safe="#$&+/:<=>?@[]^`{|}")


VALID = as_js_cookie({"version": 1, "destinations": DESTINATIONS, "custom": CUSTOM})

MALFORMED = {
    "not-json": "{%22version%22:1%2C",
    "not-an-object": as_js_cookie(["advertising", False]),
    "flag-not-a-bool": as_js_cookie({"version": 1, "custom": {"advertising": "no"}}),
    "destinations-not-an-object": as_js_cookie({"version": 1, "destinations": ["Hotjar"]}),
    "unknown-version": as_js_cookie({"version": 2, "custom": CUSTOM}),
    "deeply-nested": "[" * 2000 + "]" * 2000,  # within the size limit
    "oversized": as_js_cookie(
        {"version": 1, "custom": CUSTOM, "destinations": {f"Tool {n}": True for n in range(400)}}
    ),
}


def header(value: str, name: str = NAME) -> dict[str, str]:
    """A request's Cookie header carrying ``value`` as cookie ``name``."""
    return {"Cookie": f"theme=dark; {name}={value}"}
