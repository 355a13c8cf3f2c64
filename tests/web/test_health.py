"""The health answer with a per-request write key: every pooled client, each labelled,
503 when any of them has failed for ``health_max_failing`` seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from segment_web.web.integration import Integration
from segment_web.web.settings import parse_settings
from tests.support.health import MAX_FAILING, failing_for_at_least
from tests.support.recording_server import RecordingServer, Reply
from tests.web.factories import request_facts

KEYS = {"a.shop": "akey-1234567", "b.shop": "bkey-7654321"}


@pytest.fixture
def failing_server() -> Iterator[RecordingServer]:
    recording = RecordingServer()
    recording.default = Reply(status=500)
    yield recording
    recording.close()


def _answer(integration: Integration) -> tuple[int, dict[str, Any]]:
    code, body = integration.health()
    return code, json.loads(body)


def test_the_answer_covers_every_pooled_client_and_fails_with_any(
    server: RecordingServer, failing_server: RecordingServer
) -> None:
    hosts = {"a.shop": server.url, "b.shop": failing_server.url}
    settings, problems = parse_settings(
        {
            "write_key": lambda request: KEYS[request],
            "host": lambda request: hosts[request],
            "health_max_failing": MAX_FAILING,
            "max_retries": 0,
            "error_handler": lambda error: None,
        }
    )
    assert not problems
    integration = Integration(settings)
    try:
        assert _answer(integration) == (200, {"status": "ok", "failing_for": 0.0, "clients": []})
        for shop in ("a.shop", "b.shop"):
            tracked = integration.start(request_facts(host=shop, request=shop))
            assert tracked is not None
            tracked.handle.track(user_id="u", event="Bought")
        integration.flush()
        assert len(server.wait_for(1)) == 1 and failing_server.wait_requests(1)

        assert integration.pool is not None
        [_, b] = integration.pool.clients()  # least recently used first
        failing_for_at_least(b, MAX_FAILING)
        code, body = _answer(integration)
        assert code == 503 and body["status"] == "failing"
        assert body["failing_for"] >= MAX_FAILING
        entries = {entry["label"]: entry for entry in body["clients"]}  # key prefixes
        assert sorted(entries) == ["akey-1", "bkey-7"]
        assert entries["akey-1"]["status"] == "ok"
        assert entries["akey-1"]["stats"]["delivered"] == 1
        assert entries["bkey-7"]["status"] == "failing"
        assert not any(key in json.dumps(body) for key in KEYS.values())
    finally:
        integration.shutdown()
