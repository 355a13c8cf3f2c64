"""Consent as the tests send it: ``tracking-preferences`` cookie values as Segment's
consent manager writes them (and as a visitor could tamper with them), and the test
header ``X-Test-Consent: Advertising=1,Analytics=0`` the tests' consent callables read."""

from __future__ import annotations

import json
from urllib.parse import quote

NAME = "tracking-preferences"
HEADER = "X-Test-Consent"
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


def categories_from_header(value: str | None) -> dict[str, bool] | None:
    """``"Advertising=1,Analytics=0"`` → ``{"Advertising": True, "Analytics": False}``;
    no header → None (consent unknown)."""
    if value is None:
        return None
    pairs = (item.partition("=") for item in value.split(",") if item.strip())
    return {name.strip(): flag.strip() == "1" for name, _, flag in pairs}
