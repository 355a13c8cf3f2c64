"""``timeout`` bounds a whole POST: a destination that trickles its answer a byte at a
time is cut off at the deadline and the batch is retried, as after any timeout."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from segment_web import Analytics

TRICKLE_EVERY = 0.05  # seconds between bytes: far inside any per-read timeout
TRICKLE_MAX_BYTES = 2000  # bounds a trickle to 100 s should the client never give up


class TricklingServer:
    """Answers its first request one byte at a time (status line and headers, or the body
    after complete headers); later requests get a normal 200."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.arrivals: list[tuple[float, dict[str, str]]] = []
        self.trickle_ended_at: float | None = None
        self.stopping = threading.Event()
        self._cond = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._cond:
                    server.arrivals.append((time.monotonic(), dict(self.headers)))
                    first = len(server.arrivals) == 1
                    server._cond.notify_all()
                if first:
                    self.close_connection = True
                    server._trickle(self.wfile)
                    return
                body = b'{"success": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hanging up on the trickle is the point

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def _trickle(self, out: Any) -> None:
        if self.part == "headers":
            out.write(b"HTTP/1.1 200 OK\r\n")
            endless = b"X-Slow: " + b"a" * TRICKLE_MAX_BYTES
        else:
            out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            endless = b"a" * TRICKLE_MAX_BYTES
        try:
            for byte in endless:
                if self.stopping.wait(TRICKLE_EVERY):
                    break
                out.write(bytes([byte]))
                out.flush()
        except OSError:
            pass  # the client hung up: the trickle is over
        with self._cond:
            self.trickle_ended_at = time.monotonic()
            self._cond.notify_all()

    def wait_trickle_ended(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.trickle_ended_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the trickle still went on after {timeout}s")
                self._cond.wait(left)
            return self.trickle_ended_at

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(params=["headers", "body"])
def trickling(request: pytest.FixtureRequest) -> Iterator[TricklingServer]:
    server = TricklingServer(request.param)
    yield server
    server.close()


def test_a_trickled_answer_ends_the_attempt_at_the_deadline_and_the_batch_is_retried(
    trickling: TricklingServer,
) -> None:
    timeout = 0.5
    client = Analytics("k", host=trickling.url, timeout=timeout, max_retries=2, gzip=False)
    try:
        client.track(user_id="u", event="E")
        delivered = client.flush(timeout=20)
        first_at = trickling.arrivals[0][0]
        # The client hung up: the server's next byte fails soon after the deadline.
        ended = trickling.wait_trickle_ended(timeout=10) - first_at
    finally:
        with contextlib.suppress(Exception):
            client.shutdown(timeout=2)
    assert delivered == 1
    assert [headers.get("X-Retry-Count") for _, headers in trickling.arrivals] == [None, "1"]
    retried_after = trickling.arrivals[1][0] - first_at
    assert timeout * 0.9 <= retried_after < timeout + 5.0
    assert ended < timeout + 5.0
