"""A write key per request, the same scenarios under Django, Flask and ASGI: tenants
never mixed under concurrency, the pool bound evicting (and flushing) the least
recently used client, a failing callable costing the request nothing; and the app's own
shutdown (the ASGI lifespan, Django's settings reload) reaching every pooled client."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest
from starlette.testclient import TestClient

from segment_web.collector.intake import write_key_from_auth
from tests.conformance.drivers import AsgiDriver, DjangoDriver, Driver, Headers
from tests.support.client_helpers import wait_until
from tests.support.recording_server import RecordingServer
from tests.web.factories import KEY_PREFIX


def hit(tenant: str | None, n: int) -> tuple[str, Headers]:
    """The path and headers of ``GET /hit/`` for ``tenant`` (in ``X-Tenant``)."""
    return f"/hit/?tenant={tenant or ''}&n={n}", {"X-Tenant": tenant} if tenant else {}


def visit(adapter: Driver, tenant: str | None, n: int) -> int:
    path, headers = hit(tenant, n)
    return adapter.get(path, headers=headers).status


def _by_key(server: RecordingServer) -> dict[str, list[dict[str, Any]]]:
    """Accepted messages grouped by the write key (Basic auth user) they came under."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in server.accepted:
        key = write_key_from_auth(record.headers["Authorization"], None)
        grouped.setdefault(key, []).extend(record.body["batch"])
    return grouped


def test_tenants_interleaved_are_never_mixed(adapter: Driver, server: RecordingServer) -> None:
    adapter.start(write_key=adapter.tenant_key, flush_at=3, auto_page=False)
    visits = [hit(tenant, n) for n in range(15) for tenant in ("a", "b", "c")]

    assert adapter.visit_all(visits) == [200] * len(visits)
    assert adapter.integration is not None
    adapter.integration.flush()
    server.wait_for(len(visits))

    grouped = _by_key(server)
    assert sorted(grouped) == ["key-a", "key-b", "key-c"]
    for key, messages in grouped.items():
        tenants = {m["properties"]["tenant"] for m in messages}
        assert {KEY_PREFIX + tenant for tenant in tenants} == {key}
        assert sorted(int(m["properties"]["n"]) for m in messages) == list(range(15))
    assert adapter.integration.pool is not None
    assert len(adapter.integration.pool.clients()) == 3


def test_the_least_recently_used_client_is_evicted_and_flushed(
    adapter: Driver, server: RecordingServer
) -> None:
    # A client sends its first message at once, then nothing before a flush: b's second
    # message goes out only through the eviction's shutdown.
    adapter.start(
        write_key=adapter.tenant_key,
        max_clients=2,
        flush_at=100,
        flush_interval=3600,
        auto_page=False,
    )
    assert adapter.integration is not None and adapter.integration.pool is not None
    pool = adapter.integration.pool
    for tenant, n in [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]:  # a: most recent
        assert visit(adapter, tenant, n) == 200
    evicted = weakref.ref(next(c for c in pool.clients() if c.write_key == "key-b"))
    assert visit(adapter, "c", 1) == 200

    arrived = server.wait_matching(lambda m: m["properties"]["tenant"] == "b", 2)
    assert sorted(m["properties"]["n"] for m in arrived) == ["1", "2"]
    assert sorted(_by_key(server)["key-b"], key=str) == sorted(arrived, key=str)
    assert sorted(client.write_key for client in pool.clients()) == ["key-a", "key-c"]
    # Let go once flushed (not shut down: a request still running may hold it).
    wait_until(lambda: gc.collect() >= 0 and evicted() is None, what="the client collected")

    adapter.integration.shutdown()  # the app's shutdown flushes every pooled client
    server.wait_for(6)
    grouped = _by_key(server)
    assert sorted(m["properties"]["n"] for m in grouped["key-a"]) == ["1", "2", "3"]
    assert [m["properties"]["n"] for m in grouped["key-c"]] == ["1"]
    assert len(grouped["key-b"]) == 2


def test_a_failing_write_key_callable_answers_200_and_warns_once(
    adapter: Driver, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    adapter.start(write_key=adapter.tenant_key, auto_page=False)
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        assert adapter.visit_all([hit(None, 1), hit(None, 2), hit("a", 3)]) == [200, 200, 200]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "no X-Tenant header" in w]) == 1, warnings
    assert adapter.integration is not None and adapter.integration.pool is not None
    adapter.integration.flush()
    # The tenant-less requests went to the disabled client: only a's message is sent.
    assert [c.write_key for c in adapter.integration.pool.clients()] == ["key-a"]
    server.wait_for(1)
    assert _by_key(server) == {"key-a": server.messages}
    assert not adapter.integration.client.enable


@pytest.mark.parametrize("adapter", ["asgi"], indirect=True)
def test_the_lifespan_shutdown_flushes_every_tenant(
    adapter: AsgiDriver, server: RecordingServer
) -> None:
    adapter.start(write_key=adapter.tenant_key, flush_at=100, flush_interval=3600, auto_page=False)
    with TestClient(adapter.app, base_url="http://x") as client:
        for tenant, n in [("a", 1), ("b", 1), ("a", 2), ("b", 2)]:
            path, headers = hit(tenant, n)
            assert client.get(path, headers=headers).status_code == 200
        # each client's first message went at once; the second waits for a flush
        server.wait_for(2)
    messages = server.wait_for(4)  # the lifespan shutdown flushed both
    assert sorted((m["properties"]["tenant"], m["properties"]["n"]) for m in messages) == [
        ("a", "1"),
        ("a", "2"),
        ("b", "1"),
        ("b", "2"),
    ]


@pytest.mark.parametrize("adapter", ["django"], indirect=True)
def test_a_django_settings_reload_shuts_every_tenant_down(
    adapter: DjangoDriver, server: RecordingServer
) -> None:
    adapter.start(write_key=adapter.tenant_key, flush_at=100, flush_interval=3600, auto_page=False)
    assert adapter.integration is not None and adapter.integration.pool is not None
    pool = adapter.integration.pool
    for tenant, n in [("a", 1), ("b", 1), ("a", 2), ("b", 2)]:
        assert visit(adapter, tenant, n) == 200
    clients = pool.clients()
    adapter.settings.close()  # override_settings ends: the integration is rebuilt
    messages = server.wait_for(4)
    assert sorted(m["properties"]["n"] for m in messages) == ["1", "1", "2", "2"]
    assert all(client.closed for client in clients) and pool.clients() == []
