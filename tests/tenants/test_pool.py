"""The pool on its own: an evicted client stays usable by the request that holds it."""

from __future__ import annotations

from segment_web.collector.intake import write_key_from_auth
from segment_web.web.integration import Integration
from segment_web.web.settings import parse_settings
from tests.support.recording_server import RecordingServer
from tests.tenants import drivers


def _scope(tenant: bytes) -> dict[str, object]:
    return {"headers": [(b"x-tenant", tenant)]}


def test_a_request_holding_an_evicted_client_still_tracks_under_its_key(
    server: RecordingServer, no_default_client: None
) -> None:
    settings, problems = parse_settings(
        {"write_key": drivers.asgi_write_key, "host": server.url, "max_clients": 1}
    )
    assert problems == []
    integration = Integration(settings)
    assert integration.pool is not None
    try:
        held = integration.pool.client_for(_scope(b"a"))  # a request of a, still running
        held.track(user_id="u", event="Before")  # a client's first message goes at once
        server.wait_for(1)
        assert integration.pool.client_for(_scope(b"b")) is not held  # a is evicted
        integration.pool.join_evicted()  # its eviction is over: flushed, let go
        assert integration.pool.clients() == [integration.pool.client_for(_scope(b"b"))]
        held.track(user_id="u", event="After eviction")  # no ClientClosedError
        held.flush(timeout=5)
        server.wait_for(2)
        keys = [write_key_from_auth(r.headers["Authorization"], None) for r in server.accepted]
        assert keys == ["key-a", "key-a"]
        assert [m["event"] for m in server.messages] == ["Before", "After eviction"]
    finally:
        integration.shutdown()
