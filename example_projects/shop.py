"""What the three example shops share: the catalogue and the page they render.

Only the data and the HTML live here; each app's analytics calls are written out in
its own framework's idiom, since that is what the examples are for.
"""

from __future__ import annotations

import html
import os

PRODUCTS = {
    "1": {"name": "Espresso cup", "price": 9.5},
    "2": {"name": "Pour-over kettle", "price": 39.0},
    "3": {"name": "Burr grinder", "price": 129.0},
}

# The local collector (`python -m segment_web.collector`) listens here by default.
COLLECTOR = os.environ.get("SEGMENT_HOST", "http://127.0.0.1:8765")


def write_key(framework: str) -> str:
    return os.environ.get("SEGMENT_WRITE_KEY", f"{framework}-example")


def render(title: str, body: str, user: str | None = None) -> str:
    who = f"Signed in as {html.escape(user)}" if user else "Not signed in"
    links = " · ".join(
        f'<a href="/products/{pid}">{html.escape(p["name"])}</a>' for pid, p in PRODUCTS.items()
    )
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
        f"<header>{who} — {links}</header><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
