"""The health answer every adapter serves (opt-in): the client's stats as JSON, and 503
once delivery has failed without a success for ``health_max_failing`` seconds.

A failure here is an attempt that did not get a 2xx (a retry counts: a batch may retry
for minutes before it finally fails). The answer never includes the write key. With a
per-request write key the answer covers every pooled client, one entry each (labelled
with the first characters of its write key), and is 503 when any of them is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from segment_web.core.client import Analytics
from segment_web.delivery.stats import key_label

CONTENT_TYPE = "application/json"


def health(client: Analytics, max_failing: float) -> tuple[int, bytes]:
    """The status code and JSON body of the health answer for ``client``."""
    code, body = _verdict(client, max_failing)
    return code, _encode(body)


def pool_health(clients: Iterable[Analytics], max_failing: float) -> tuple[int, bytes]:
    """The health answer for several clients (one per write key): ``clients`` lists each
    one's answer with its ``label``; the status is the worst of theirs."""
    verdicts = [_verdict(client, max_failing) for client in clients]
    entries = [body for _, body in verdicts]
    failing = any(entry["status"] == "failing" for entry in entries)
    body = {
        "status": "failing" if failing else "ok",
        "failing_for": max((entry["failing_for"] for entry in entries), default=0.0),
        "clients": entries,
    }
    return max((code for code, _ in verdicts), default=200), _encode(body)


def _verdict(client: Analytics, max_failing: float) -> tuple[int, dict[str, Any]]:
    stats = client.stats()
    failing_for = stats.failing_for()
    if not stats.enabled:
        status = "disabled"
    elif stats.failing_since is not None:
        status = "failing"
    else:
        status = "ok"
    code = 503 if stats.enabled and failing_for >= max_failing and failing_for > 0 else 200
    return code, {
        "status": status,
        "label": key_label(client.write_key),
        "failing_for": round(failing_for, 3),
        "stats": stats.as_dict(),
    }


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
