"""A tracking-API stand-in for the adapter benchmarks, run as its own process so its CPU
is not charged to the app: answers every batch 200 and counts the messages by type.

``GET /wait?total=N`` answers once N messages in all have arrived (or after 30 s) with
the counts as JSON: one request instead of polling, so waiting costs the app almost no
CPU. Prints its port on the first line.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WAIT_LIMIT = 30.0

_cond = threading.Condition()
_counts: Counter[str] = Counter()
_ids: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The reply's head and body are two writes: with Nagle's algorithm the body waits
    # for the client's delayed ACK, ~40 ms per batch.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        batch = json.loads(body)["batch"]
        with _cond:
            for message in batch:
                _counts[message["type"]] += 1
                if message["messageId"] in _ids:
                    _counts["duplicate"] += 1
                _ids.add(message["messageId"])
            _cond.notify_all()
        self._reply(b'{"success": true}')

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        total = int(query.get("total", ["0"])[0])
        deadline = time.monotonic() + WAIT_LIMIT
        with _cond:
            while _total() < total and time.monotonic() < deadline:
                _cond.wait(max(0.0, deadline - time.monotonic()))
            counts = dict(_counts)
        self._reply(json.dumps(counts).encode())

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _total() -> int:
    return sum(count for kind, count in _counts.items() if kind != "duplicate")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()
