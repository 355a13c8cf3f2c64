"""The fixtures of the client tests (tests/core, delivery, wire, process, store, plan):
clients aimed at the recording server, faster backoff, signal recorders, proxies. Each
of those folders' conftest.py imports them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blinker import Signal

from segment_web import Analytics
from segment_web.delivery import transport
from tests.support.client_helpers import PROXY_VARIABLES, MakeClient, SignalRecorder
from tests.support.recording_server import RecordingServer

__all__ = ["fast_backoff", "make_client", "no_proxy", "record_signal", "server_as_proxy"]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real retry code, shorter waits: backoff 10 ms doubling to at most 50 ms."""
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(transport, "BACKOFF_MAX", 0.05)


@pytest.fixture
def make_client(server: RecordingServer) -> Iterator[MakeClient]:
    """Clients aimed at the recording server; each is shut down after the test.

    Defaults keep the queue quiet unless a test asks: no first-message send, a long
    interval, a large flush_at.
    """
    clients: list[Analytics] = []

    def make(write_key: str = "test-key", *, flushed: bool = True, **options: Any) -> Analytics:
        options.setdefault("host", server.url)
        options.setdefault("flush_at", 100)
        options.setdefault("flush_interval", 60.0)
        options.setdefault("max_retries", 2)
        client = Analytics(write_key, **options)
        client.flushed = flushed
        clients.append(client)
        return client

    yield make
    server.release()  # let hung requests finish, so teardown is quick
    for client in clients:
        with contextlib.suppress(Exception):
            client.shutdown(timeout=2.0)


@pytest.fixture
def record_signal() -> Iterator[Callable[[Signal], SignalRecorder]]:
    recorders: list[SignalRecorder] = []

    def record(signal: Signal) -> SignalRecorder:
        recorder = SignalRecorder(signal)
        recorders.append(recorder)
        return recorder

    yield record
    for recorder in recorders:
        recorder.disconnect()


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server_as_proxy(monkeypatch: pytest.MonkeyPatch, server: RecordingServer) -> None:
    """The recording server is the environment's HTTP proxy (it answers what it is sent)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", server.url)
    monkeypatch.setenv("HTTP_PROXY", server.url)
