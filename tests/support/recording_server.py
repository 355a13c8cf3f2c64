"""A tracking-API stand-in on 127.0.0.1 for tests: records every request and answers
from a script (statuses, Retry-After, delays, dropped connections).

Each connection has a thread of its own, so a delayed answer (``Reply.delay``) holds
only its own connection: POSTs on other connections are answered meanwhile, as by an
API at a network distance. ``server.default = Reply(delay=0.1)`` delays every answer;
``server.cycle(...)`` makes the answers after the script go round a list of replies
(different delays: answers come back in another order than their requests).
"""

from __future__ import annotations

import datetime
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. ``drop`` closes the connection without answering;
    ``hang_up`` answers (keep-alive, as ever), then closes the connection, as a server
    does with an idle one.

    ``delay`` is cut short when the server closes, so a "hung" server never outlives
    its test. ``trickle`` answers a byte every ``TRICKLE_EVERY`` seconds, without end
    (bounded: ``TRICKLE_MAX_BYTES``): ``"headers"`` from the status line on, ``"body"``
    after complete headers; it ends when the client hangs up or the server closes.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    hang_up: bool = False
    body: bytes = b'{"success": true}'
    trickle: str | None = None


OUTAGE = Reply(status=503, hang_up=True)
"""An outage that ``RecordingServer.end_outage`` can end: every connection closes after
its answer."""

TRICKLE_EVERY = 0.05  # seconds between bytes: far inside any per-read timeout
TRICKLE_MAX_BYTES = 2000


@dataclass
class Recorded:
    """One request as received. ``status`` is what was answered; 0 for a dropped or
    trickled one."""

    path: str
    headers: dict[str, str]
    raw: bytes
    data: bytes  # the body after gzip decoding
    body: dict[str, Any]
    status: int
    at: float  # time.monotonic() when the request arrived
    peer: tuple[str, int]  # the client's end of the connection it came on

    @property
    def sent_at(self) -> float:
        """When the client sent it, by the client's clock (each attempt stamps ``sentAt``
        as it goes out), in seconds since the epoch: what a test measures the client's
        waits with, since ``at`` also holds however long the server's thread waited for
        the CPU."""
        stamp = str(self.body["sentAt"]).replace("Z", "+00:00")
        return datetime.datetime.fromisoformat(stamp).timestamp()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    on_idle_poll: Callable[[], None] = staticmethod(lambda: None)
    on_accept: Callable[[Any], None] = staticmethod(lambda request: None)
    _accepted = False

    def process_request(self, request: Any, client_address: Any) -> None:
        self.on_accept(request)  # on the server's thread, before the handler's starts
        super().process_request(request, client_address)

    def _handle_request_noblock(self) -> None:
        self._accepted = True
        super()._handle_request_noblock()  # type: ignore[misc]

    def service_actions(self) -> None:
        # Called by serve_forever after each poll: one that accepted nothing saw an
        # empty queue of connections waiting to be accepted.
        if not self._accepted:
            self.on_idle_poll()
        self._accepted = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or gave up leaves a broken pipe behind: expected here.
        pass


class RecordingServer:
    """``tls``: serve HTTPS with this server-side context (``url`` then says https)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Recorded] = []
        self.arrived = 0  # requests whose body was read, answered yet or not
        self.trickles_ended: list[float] = []  # time.monotonic() when each trickle stopped
        self.hung_up = 0  # connections closed by a hang_up reply
        self.connections_ended = 0  # connections closed, by either side
        self.connections_opened = 0
        self._open: dict[int, int] = {}  # id of each connection not yet closed -> number
        self.idle_polls = 0
        self.script: list[Reply] = []
        self.default = Reply()
        self.rotation: list[Reply] = []  # see cycle()
        self._turn = 0
        self._cond = threading.Condition()
        self._closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go in two writes; with Nagle on, the second waits ~40 ms
            # for the client's delayed ACK on every keep-alive request
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def finish(self) -> None:
                super().finish()
                with server._cond:
                    server.connections_ended += 1
                    server._open.pop(id(self.request), None)
                    server._cond.notify_all()

            def do_POST(self) -> None:
                at = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._cond:
                    reply = server._next_reply()
                    server.arrived += 1
                    server._cond.notify_all()
                if reply.delay:
                    server._closed.wait(reply.delay)
                gzipped = self.headers.get("Content-Encoding") == "gzip"
                data = gzip.decompress(raw) if gzipped else raw
                body = json.loads(data)
                status = 0 if reply.drop or reply.trickle else reply.status
                peer = self.client_address
                record = Recorded(self.path, dict(self.headers), raw, data, body, status, at, peer)
                with server._cond:
                    server.requests.append(record)
                    server._cond.notify_all()
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.trickle:
                    self.close_connection = True
                    server._trickle(self.wfile, reply.trickle)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                if reply.hang_up:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    with server._cond:
                        server.hung_up += 1
                        server._cond.notify_all()

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)

        def idle_poll() -> None:
            with server._cond:
                server.idle_polls += 1
                server._cond.notify_all()

        def accepted(request: Any) -> None:
            with server._cond:
                server._open[id(request)] = server.connections_opened
                server.connections_opened += 1

        self._httpd.on_idle_poll = idle_poll
        self._httpd.on_accept = accepted
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if tls is not None:
            # Accepted connections do their TLS handshake before the handler runs; a
            # failed one ends that connection only.
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _trickle(self, out: Any, part: str) -> None:
        if part == "headers":
            out.write(b"HTTP/1.1 200 OK\r\n")
            endless = b"X-Slow: " + b"a" * TRICKLE_MAX_BYTES
        else:
            out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            endless = b"a" * TRICKLE_MAX_BYTES
        try:
            for byte in endless:
                if self._closed.wait(TRICKLE_EVERY):
                    break
                out.write(bytes([byte]))
                out.flush()
        except OSError:
            pass  # the client hung up: the trickle is over
        with self._cond:
            self.trickles_ended.append(time.monotonic())
            self._cond.notify_all()

    def _wait_count(
        self, current: Callable[[], int], count: int, timeout: float, what: str
    ) -> None:
        """Wait (under the lock) until ``current()`` reaches ``count``; AssertionError
        saying how many ``what`` there were when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while current() < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {what}, got {current()} in {timeout}s")
                self._cond.wait(left)

    def wait_trickles_ended(self, count: int, timeout: float = 10.0) -> list[float]:
        """Wait until ``count`` trickled answers stopped (fails on timeout)."""
        self._wait_count(lambda: len(self.trickles_ended), count, timeout, "ended trickles")
        with self._cond:
            return list(self.trickles_ended)

    def wait_hung_up(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections were closed by ``hang_up`` replies."""
        self._wait_count(lambda: self.hung_up, count, timeout, "hang-ups")

    def wait_connections_ended(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections were closed (by the client or the server)."""
        self._wait_count(lambda: self.connections_ended, count, timeout, "closed connections")

    def _next_reply(self) -> Reply:
        if self.script:
            return self.script.pop(0)
        if self.rotation:
            self._turn += 1
            return self.rotation[(self._turn - 1) % len(self.rotation)]
        return self.default

    def cycle(self, *replies: Reply) -> None:
        """After the script, answer with these replies in turn, round and round
        (none: back to ``default``)."""
        with self._cond:
            self.rotation = list(replies)
            self._turn = 0

    def end_outage(self, reply: Reply | None = None, timeout: float = 30.0) -> None:
        """Answer ``reply`` (200 by default) from now on, once every connection open now
        has closed. During the outage ``default`` must hang up (``OUTAGE``): then no
        request of a process killed before this call can ever be answered 200."""
        deadline = time.monotonic() + timeout
        with self._cond:
            polls = self.idle_polls
            while self.idle_polls < polls + 2:  # every connection made so far is accepted
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the server did not poll in {timeout}s")
                self._cond.wait(left)
            before = self.connections_opened
            while any(number < before for number in self._open.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"connections still open after {timeout}s")
                self._cond.wait(left)
            self.default = reply or Reply()

    def reply(self, *replies: Reply) -> None:
        """Script the next answers, in order; the default answers after them."""
        with self._cond:
            self.script.extend(replies)

    @property
    def accepted(self) -> list[Recorded]:
        """Requests answered 2xx."""
        with self._cond:
            return [r for r in self.requests if 200 <= r.status < 300]

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        """The message lists of accepted requests, in arrival order."""
        return [r.body["batch"] for r in self.accepted]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message, in arrival order."""
        return [m for batch in self.batches for m in batch]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` messages were accepted; return them (fails on timeout)."""
        self._wait_count(lambda: len(self.messages), count, timeout, "messages")
        return self.messages

    def wait_matching(
        self, ours: Callable[[dict[str, Any]], bool], count: int, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` accepted messages satisfy ``ours``; return those."""

        def matching() -> int:
            return sum(1 for batch in self.batches for m in batch if ours(m))

        self._wait_count(matching, count, timeout, "matching messages")
        return [m for m in self.messages if ours(m)]

    def wait_requests(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """Wait until ``count`` requests arrived, whatever their answer (fails on timeout)."""
        self._wait_count(lambda: len(self.requests), count, timeout, "requests")
        with self._cond:
            return list(self.requests)

    def wait_arrived(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` requests arrived, even if still held by a delay."""
        self._wait_count(lambda: self.arrived, count, timeout, "arrivals")

    def release(self) -> None:
        """End every delay now and from now on: a hung server answers again."""
        self._closed.set()

    def close(self) -> None:
        self._closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)
