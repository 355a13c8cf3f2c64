"""HTTP connections whose whole request keeps to a deadline, not each socket read.

``requests``' ``timeout`` bounds each socket operation: a server that trickles its
answer a byte at a time never trips it and holds the connection for as long as it
likes. ``DeadlineAdapter`` makes its connections bound every connect, send and read by
the time left until the deadline that ``deadline(seconds)`` sets for the requests made
inside it, so a request fails with the usual read timeout once its time is up.
``deadline_connection`` does the same for a plain ``http.client`` connection class.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, TypeVar

from requests.adapters import HTTPAdapter

_current = threading.local()  # .at: the monotonic deadline of this thread's request


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Requests made in this block on this thread, reading included, end within ``seconds``."""
    _current.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.at = None


def _time_left() -> float | None:
    at: float | None = getattr(_current, "at", None)
    if at is None:
        return None
    left = at - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """A response's socket reads, each given only the time left."""

    def __init__(self, raw: Any, sock: socket.socket) -> None:
        self._raw = raw
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = _time_left()
        if left is not None:
            self._sock.settimeout(left)
        result: int = self._raw.readinto(buffer)
        return result

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        if getattr(_current, "at", None) is not None:
            # Keep the socket's own reader (it holds the socket open until the response
            # is read) under one that gives each read only the time left.
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock))


_connection_classes: dict[type, type] = {}
_pool_classes: dict[type, type] = {}

_Connection = TypeVar("_Connection", bound=http.client.HTTPConnection)


def deadline_connection(base: type[_Connection]) -> type[_Connection]:
    """A subclass of an ``http.client``-style connection class whose connecting, sending
    and reading each get only the time left, inside a ``deadline`` block."""
    if base not in _connection_classes:

        def connect(self: Any) -> None:
            left = _time_left()
            if left is not None:
                self.timeout = left  # the TCP connect and a TLS handshake's each step
            base.connect(self)

        def send(self: Any, data: Any) -> None:
            left = _time_left()
            if left is not None and self.sock is not None:
                self.sock.settimeout(left)
            base.send(self, data)

        _connection_classes[base] = type(
            f"Deadline{base.__name__}",
            (base,),
            {"response_class": _DeadlineResponse, "connect": connect, "send": send},
        )
    return _connection_classes[base]


def _deadline_pool(base: Any) -> type:
    if base not in _pool_classes:
        _pool_classes[base] = type(
            f"Deadline{base.__name__}",
            (base,),
            {"ConnectionCls": deadline_connection(base.ConnectionCls)},
        )
    return _pool_classes[base]


def _use_deadline_pools(manager: Any) -> None:
    manager.pool_classes_by_scheme = {
        scheme: _deadline_pool(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
    }


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) obey ``deadline``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_deadline_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        fresh = proxy not in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if fresh:
            _use_deadline_pools(manager)
        return manager
