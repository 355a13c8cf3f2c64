"""The health answer's scenario, written once and driven through each adapter."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from segment_web import Analytics
from tests.support.recording_server import RecordingServer, Reply

MAX_FAILING = 0.2  # the adapters' HEALTH_MAX_FAILING in these tests

Get = Callable[[], tuple[int, dict[str, Any]]]  # status and parsed JSON of one GET


def failing_for_at_least(client: Analytics, seconds: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.stats().failing_for() < seconds:
        assert time.monotonic() < deadline, "delivery never counted as failing long enough"
        time.sleep(0.01)


def run_health_scenario(get: Get, client: Analytics, server: RecordingServer) -> None:
    """OK while delivering; still 200 on a fresh failure; 503 once it has failed for
    ``MAX_FAILING`` seconds; 200 again after a success. ``client`` must send each message
    at once with no retry and an error_handler."""
    client.track(user_id="u", event="fine")
    client.flush()
    status, body = get()
    assert status == 200 and body["status"] == "ok"
    assert body["stats"]["delivered"] >= 1 and body["stats"]["failing_since"] is None
    assert client.write_key not in str(body)

    server.reply(Reply(status=500))
    client.track(user_id="u", event="lost")
    client.flush()
    status, body = get()
    assert body["status"] == "failing" and body["stats"]["failed_batches"] >= 1
    if body["failing_for"] < MAX_FAILING:
        assert status == 200
    failing_for_at_least(client, MAX_FAILING)
    status, body = get()
    assert status == 503 and body["failing_for"] >= MAX_FAILING

    client.track(user_id="u", event="back")
    client.flush()
    status, body = get()
    assert status == 200 and body["status"] == "ok"
