"""Small HTTP helpers shared by the collector tests (real requests on 127.0.0.1)."""

from __future__ import annotations

import gzip as gzip_module
import json
from typing import Any

import requests

TIMEOUT = 10


def post(
    url: str,
    path: str,
    body: Any,
    *,
    key: str | None = "key",
    gzip: bool = False,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST ``body`` (bytes as they are, anything else as JSON) with basic auth ``key``."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    if gzip:
        data = gzip_module.compress(data)
        sent_headers["Content-Encoding"] = "gzip"
    auth = (key, "") if key is not None else None
    return requests.post(url + path, data=data, headers=sent_headers, auth=auth, timeout=TIMEOUT)


def events(url: str, **params: Any) -> list[dict[str, Any]]:
    """``GET /api/events`` with ``params``; the events it returns."""
    response = requests.get(url + "/api/events", params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def track(user: str = "u1", event: str = "Signed Up", **fields: Any) -> dict[str, Any]:
    """A minimal valid track message."""
    return {"type": "track", "userId": user, "event": event, **fields}


def assert_refused(response: requests.Response, status: int, words: str) -> None:
    """A JSON error body like Segment's, with ``words`` in its message."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert words in body["message"], body
