"""Delivery: HTTP, retries, batches in flight, stats.

The client fixtures come from tests/support/client_fixtures.py."""

from tests.support.client_fixtures import (
    fast_backoff,
    make_client,
    no_proxy,
    record_signal,
    server_as_proxy,
)

__all__ = ["fast_backoff", "make_client", "no_proxy", "record_signal", "server_as_proxy"]
