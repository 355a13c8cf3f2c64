"""Small recorders shared by the core tests: callbacks, signals, bounded waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from blinker import Signal

from segment_web import Analytics, Batch

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")
# Reached only through the proxy: the name cannot resolve (RFC 6761).
PROXIED_HOST = "http://segment.invalid"

MakeClient = Callable[..., Analytics]
RecordSignal = Callable[[Signal], "SignalRecorder"]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


class Callbacks:
    """A ``callback=`` that records each ``(error, batch)`` it is called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Exception | None, Batch]] = []
        self._lock = threading.Lock()

    def __call__(self, error: Exception | None, batch: Batch) -> None:
        with self._lock:
            self.calls.append((error, batch))

    @property
    def errors(self) -> list[Exception | None]:
        with self._lock:
            return [error for error, _ in self.calls]

    def wait(self, count: int, timeout: float = 10.0) -> list[Exception | None]:
        wait_until(lambda: len(self.calls) >= count, timeout, f"{count} callbacks")
        return self.errors


class SignalRecorder:
    """Records every send of one blinker signal as ``(sender, kwargs)``."""

    def __init__(self, signal: Signal) -> None:
        self.signal = signal
        self.sends: list[tuple[object, dict[str, Any]]] = []
        self._lock = threading.Lock()
        signal.connect(self._receive, weak=False)

    def _receive(self, sender: object, **kwargs: Any) -> None:
        with self._lock:
            self.sends.append((sender, kwargs))

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[object, dict[str, Any]]]:
        wait_until(lambda: len(self.sends) >= count, timeout, f"{count} {self.signal.name}")
        with self._lock:
            return list(self.sends)

    def disconnect(self) -> None:
        self.signal.disconnect(self._receive)


def only_route(client: Analytics) -> object:
    """The one connection route the client's POSTs made (none is in use once flushed)."""
    (route,) = client._transport.routes
    return route
