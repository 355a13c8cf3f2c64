"""Settings every adapter reads the same way."""

from __future__ import annotations

from tests.conformance.drivers import Driver


def test_flush_at_zero_becomes_one(adapter: Driver) -> None:
    adapter.start(flush_at=0)
    assert adapter.integration is not None
    assert adapter.integration.client.flush_at == 1
    assert adapter.integration.settings.flush_at == 1
