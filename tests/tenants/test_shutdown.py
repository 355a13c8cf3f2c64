"""The app's own shutdown reaches every pooled client: the ASGI lifespan, Django's
settings reload."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.recording_server import RecordingServer
from tests.tenants.drivers import AsgiAdapter, DjangoAdapter


def test_the_lifespan_shutdown_flushes_every_tenant(
    server: RecordingServer, no_default_client: None
) -> None:
    adapter = AsgiAdapter(server)
    adapter.start(flush_at=100, flush_interval=3600, auto_page=False)
    try:
        with TestClient(adapter.middleware, base_url="http://x") as client:
            for tenant, n in [("a", 1), ("b", 1), ("a", 2), ("b", 2)]:
                assert client.get(f"/hit/?tenant={tenant}&n={n}", headers={"X-Tenant": tenant})
            # each client's first message went at once; the second waits for a flush
            server.wait_for(2)
        messages = server.wait_for(4)  # the lifespan shutdown flushed both
        assert sorted((m["properties"]["tenant"], m["properties"]["n"]) for m in messages) == [
            ("a", "1"),
            ("a", "2"),
            ("b", "1"),
            ("b", "2"),
        ]
    finally:
        adapter.close()


def test_a_django_settings_reload_shuts_every_tenant_down(
    server: RecordingServer, no_default_client: None
) -> None:
    adapter = DjangoAdapter(server)
    adapter.start(flush_at=100, flush_interval=3600, auto_page=False)
    assert adapter.integration is not None and adapter.integration.pool is not None
    pool = adapter.integration.pool
    for visit in [("a", 1), ("b", 1), ("a", 2), ("b", 2)]:
        assert adapter.visit(visit) == 200
    clients = pool.clients()
    adapter._settings.close()  # override_settings ends: the integration is rebuilt
    messages = server.wait_for(4)
    assert sorted(m["properties"]["n"] for m in messages) == ["1", "1", "2", "2"]
    assert all(client.closed for client in clients) and pool.clients() == []
