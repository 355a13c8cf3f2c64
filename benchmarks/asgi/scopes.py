"""The ASGI messages the ASGI benchmarks feed an app directly (no server in between)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

Headers = list[tuple[bytes, bytes]]


def http_scope(target: str, headers: Headers) -> dict[str, Any]:
    """A browser's HTTPS GET of ``target`` (path and query) from 127.0.0.1."""
    parts = urlsplit(target)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 52000),
        "server": ("10.0.0.2", 8000),
        "state": {},
    }


async def empty_body() -> dict[str, Any]:
    """``receive`` for a request without a body."""
    return {"type": "http.request", "body": b"", "more_body": False}
