from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segment_web import Analytics
from segment_web.delivery import transport
from tests.support.recording_server import RecordingServer

MakeClient = Callable[..., Analytics]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(transport, "BACKOFF_MAX", 0.05)


@pytest.fixture
def make_client(server: RecordingServer) -> Iterator[MakeClient]:
    """Clients aimed at the recording server, shut down after the test."""
    clients: list[Analytics] = []

    def make(write_key: str, **options: Any) -> Analytics:
        options.setdefault("host", server.url)
        options.setdefault("max_retries", 1)
        client = Analytics(write_key, **options)
        client.flushed = True
        clients.append(client)
        return client

    yield make
    server.release()
    for client in clients:
        with contextlib.suppress(Exception):
            client.shutdown(timeout=2.0)
