from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from tests.support.recording_server import RecordingServer

MakeClient = Callable[..., Analytics]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client(server: RecordingServer) -> Iterator[MakeClient]:
    """Clients aimed at the recording server (each message sent at once unless told);
    each is shut down after the test."""
    clients: list[Analytics] = []

    def make(**options: Any) -> Analytics:
        options.setdefault("host", server.url)
        options.setdefault("flush_at", 1)
        options.setdefault("max_in_flight", 1)  # the tests read messages in call order
        options.setdefault("shutdown_timeout", 2.0)
        client = Analytics("asgi-key", **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown(timeout=2)


@pytest.fixture
def client(make_client: MakeClient) -> Analytics:
    return make_client()


@pytest.fixture
def middlewares() -> Iterator[list[SegmentMiddleware]]:
    """Middleware built by a test from options (so with its own client): shut down after."""
    built: list[SegmentMiddleware] = []
    yield built
    for middleware in built:
        middleware.client.shutdown(timeout=2)
