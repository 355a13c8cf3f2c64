"""A tracking-API stand-in on 127.0.0.1 for tests: records every request and answers
from a script (statuses, Retry-After, delays, dropped connections)."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. ``drop`` closes the connection without answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    body: bytes = b'{"success": true}'


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]
    status: int


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self._cond = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._cond:
                    reply = server.script.pop(0) if server.script else server.default
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                gzipped = self.headers.get("Content-Encoding") == "gzip"
                data = gzip.decompress(raw) if gzipped else raw
                body = json.loads(data)
                record = Recorded(self.path, dict(self.headers), raw, body, reply.status)
                with server._cond:
                    server.requests.append(record)
                    server._cond.notify_all()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> list[Recorded]:
        """Requests answered 2xx."""
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
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} messages, got {len(self.messages)} in {timeout}s"
                    )
                self._cond.wait(left)
            return self.messages

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)
