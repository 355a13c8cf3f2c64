"""The event viewer page: one self-contained HTML file shipped inside the package."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def page_html() -> bytes:
    """The bytes of ``page.html`` (inline CSS and JS; it loads nothing from elsewhere)."""
    return files("segment_web.collector").joinpath("page.html").read_bytes()
