"""Serving the collector's ASGI app with uvicorn on a socket bound beforehand.

Binding in the caller's thread makes a busy port an ``OSError`` there, and the real port
known at once; uvicorn then serves that socket on its own event loop.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import Server

# Connections waiting to be accepted: a burst of clients all connecting at once queues
# here instead of having its SYNs dropped and retried seconds later.
LISTEN_BACKLOG = 1024
# Between requests on a kept-alive connection; longer than the client's 10 s default
# flush interval, so a connection is usually reused rather than found closed.
KEEP_ALIVE_SECONDS = 15
# How long stop() lets a request in progress finish before its connection is dropped.
GRACEFUL_STOP_SECONDS = 3

_TIMEOUT_BODY = b'{"success": false, "message": "request not received in time"}'
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``OSError`` when that is impossible)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # With proto named, asyncio sets TCP_NODELAY on each accepted connection; with the
    # default proto 0 it does not, and a response's header and body writes then wait
    # out Nagle + delayed ACK: 40 ms per request on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def uvicorn_server(app: ASGIApp, read_timeout: float) -> Server:
    """A uvicorn ``Server`` for ``app`` whose every request must arrive in ``read_timeout``."""

    class Protocol(RequestDeadlineProtocol):
        request_deadline = read_timeout

    config = uvicorn.Config(
        app,
        http=Protocol,
        lifespan="off",
        backlog=LISTEN_BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    return Server(config)


class RequestDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for receiving each whole request.

    uvicorn times out idle kept-alive connections only; a client that sends its request
    one byte at a time would hold its connection forever. Here a request (line, headers
    and body) must arrive within ``request_deadline`` seconds of the connection opening
    or of its first byte; otherwise it is answered 408 and the connection is closed (a
    connection that never sent a byte is just closed).
    """

    request_deadline = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # received whole (or the connection is done for)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_deadline, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        started = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        if started and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.write(_TIMEOUT_ANSWER)  # a request began and got no answer yet
        self.transport.close()
