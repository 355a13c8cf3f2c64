"""The health answer every adapter serves (opt-in): the client's stats as JSON, and 503
once delivery has failed without a success for ``health_max_failing`` seconds.

A failure here is an attempt that did not get a 2xx (a retry counts: a batch may retry
for minutes before it finally fails). The answer never includes the write key.
"""

from __future__ import annotations

import json

from segment_web.core.client import Analytics

CONTENT_TYPE = "application/json"


def health(client: Analytics, max_failing: float) -> tuple[int, bytes]:
    """The status code and JSON body of the health answer for ``client``."""
    stats = client.stats()
    failing_for = stats.failing_for()
    if not stats.enabled:
        status = "disabled"
    elif stats.failing_since is not None:
        status = "failing"
    else:
        status = "ok"
    code = 503 if stats.enabled and failing_for >= max_failing and failing_for > 0 else 200
    body = {"status": status, "failing_for": round(failing_for, 3), "stats": stats.as_dict()}
    return code, json.dumps(body, separators=(",", ":")).encode()
