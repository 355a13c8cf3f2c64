"""A fast local stand-in for the tracking API, for the core benchmark.

One asyncio process on 127.0.0.1, HTTP/1.1 keep-alive. ``POST /v1/batch`` reads the
body, counts its messages (unique ``messageId`` values, by regex by default or by
``json.loads`` with ``--count json``) and answers 200, or 503 during a scripted outage.

Control endpoints (``GET``, answered with JSON), used by the orchestrator:

- ``/control/reset?expect=N`` zero the counters; remember when N unique messages arrived
- ``/control/outage?seconds=S`` answer 503 from now for S seconds
- ``/control/delay?ms=M`` answer each batch M milliseconds after it arrived (an API at
  a network distance; other requests, on any connection, are read and answered
  meanwhile); the batch counts as delivered when answered
- ``/control/stats`` the counters and timestamps (``time.monotonic()``, which on Linux
  is one clock for every process, so the client's timestamps compare with these)

``python -m benchmarks.core.server`` prints ``PORT <n>`` and serves until killed;
``--probe PORT`` instead measures a running server's capacity from a raw-socket client.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import socket
import sys
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

ID_PATTERN = re.compile(rb'"messageId"\s*:\s*"([^"\\]*)"')

OK_BODY = b'{"success":true}'
OUTAGE_BODY = b'{"code":"unavailable","message":"scripted outage"}'


def _response(status: str, body: bytes, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return (
        b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + connection + b"\r\n" + body
    )


OK = _response("200 OK", OK_BODY)
OUTAGE = _response("503 Service Unavailable", OUTAGE_BODY)
NOT_FOUND = _response("404 Not Found", b'{"error":"not found"}')


class Counters:
    def __init__(self, count_mode: str) -> None:
        self.count_mode = count_mode
        self.delay = 0.0  # seconds before a batch is answered (kept across resets)
        self.reset(0)

    def reset(self, expect: int) -> None:
        self.ids: set[bytes] = set()
        self.messages = 0  # messages in accepted batches, duplicates included
        self.batches = 0  # accepted (2xx) batches
        self.rejected_batches = 0  # answered 503
        self.rejected_messages = 0
        self.first_ok: float | None = None
        self.last_ok: float | None = None
        self.expect = expect
        self.reached: float | None = None  # when `expect` unique messages had arrived
        self.outage_start: float | None = None
        self.outage_until = 0.0
        self.max_open = 0  # most batches received and not yet answered at one time
        self.open = 0
        # A batch received before a reset and answered after it belongs to the run
        # before: it is answered but not counted.
        self.generation = getattr(self, "generation", 0) + 1

    def batch(self, body: bytes) -> bytes:
        now = time.monotonic()
        if now < self.outage_until:
            self.rejected_batches += 1
            self.rejected_messages += body.count(b'"messageId"')
            return OUTAGE
        if self.count_mode == "json":
            ids = [m["messageId"].encode() for m in json.loads(body)["batch"]]
        else:
            ids = ID_PATTERN.findall(body)
        self.ids.update(ids)
        self.messages += len(ids)
        self.batches += 1
        if self.first_ok is None:
            self.first_ok = now
        self.last_ok = now
        if self.reached is None and self.expect and len(self.ids) >= self.expect:
            self.reached = now
        return OK

    def control(self, target: str) -> bytes:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        answer: dict[str, Any] = {}
        if parts.path == "/control/reset":
            self.reset(int(query.get("expect", "0")))
        elif parts.path == "/control/delay":
            self.delay = float(query["ms"]) / 1000
        elif parts.path == "/control/outage":
            now = time.monotonic()
            self.outage_start = now
            self.outage_until = now + float(query["seconds"])
            answer["recover_at"] = self.outage_until
        elif parts.path != "/control/stats":
            return NOT_FOUND
        answer.update(
            now=time.monotonic(),
            unique=len(self.ids),
            messages=self.messages,
            batches=self.batches,
            rejected_batches=self.rejected_batches,
            rejected_messages=self.rejected_messages,
            first_ok=self.first_ok,
            last_ok=self.last_ok,
            expect=self.expect,
            reached=self.reached,
            outage_start=self.outage_start,
            outage_until=self.outage_until,
            delay_ms=self.delay * 1000,
            max_open=self.max_open,
        )
        return _response("200 OK", json.dumps(answer).encode())


class HTTPProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1: Content-Length bodies, keep-alive, pipelining-safe."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.buffer = bytearray()
        self.head: bytes | None = None
        self.need = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.head is None:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self.head = head
                self.need = _content_length(head)
            if len(buffer) < self.need:
                return
            body = bytes(buffer[: self.need])
            del buffer[: self.need]
            head, self.head = self.head, None
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        line = head.split(b"\r\n", 1)[0].split(b" ")
        target = line[1].decode("latin-1") if len(line) > 1 else "/"
        counters = self.counters
        if b"\r\ncontent-encoding: gzip" in head.lower():
            body = gzip.decompress(body)  # a client with gzip on (segment_web's default)
        if target.startswith("/v1/batch") and counters.delay:
            counters.open += 1
            counters.max_open = max(counters.max_open, counters.open)
            asyncio.get_running_loop().call_later(
                counters.delay, self._answer_later, body, counters.generation
            )
            return
        if target.startswith("/v1/batch"):
            reply = self.counters.batch(body)
        elif target.startswith("/control/"):
            reply = self.counters.control(target)
        else:
            reply = NOT_FOUND
        self.transport.write(reply)
        if b"\r\nconnection: close" in head.lower():
            self.transport.close()

    def _answer_later(self, body: bytes, generation: int) -> None:
        counters = self.counters
        if generation != counters.generation:
            reply = OK  # received before the last reset
        else:
            counters.open -= 1
            reply = counters.batch(body)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


def _content_length(head: bytes) -> int:
    lowered = head.lower()
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    end = lowered.find(b"\r\n", start)
    return int(lowered[start : end if end >= 0 else None].strip())


async def serve(port: int, count_mode: str) -> None:
    counters = Counters(count_mode)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HTTPProtocol(counters), "127.0.0.1", port, backlog=128
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


# -- capacity probe -------------------------------------------------------------------


def probe_body(batch_size: int, seed: int) -> bytes:
    """A realistic 100-message request body, as segment_web would send it."""
    from .scenarios import wire_message

    messages = [wire_message(f"{seed}-{i}-{uuid.uuid4()}") for i in range(batch_size)]
    body = {"batch": messages, "sentAt": "2024-05-17T09:30:12.345Z", "writeKey": "bench-key"}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def probe(port: int, seconds: float, batch_size: int) -> dict[str, float]:
    """Sequential keep-alive POSTs from a raw socket (near-zero client cost): batches/s."""
    requests = []
    for seed in range(50):
        body = probe_body(batch_size, seed)
        head = (
            f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    count = 0
    start = time.monotonic()
    deadline = start + seconds
    pending = b""
    while time.monotonic() < deadline and count < 10_000_000:
        sock.sendall(requests[count % len(requests)])
        pending = _read_response(sock, pending)
        count += 1
    elapsed = time.monotonic() - start
    sock.close()
    return {
        "batches_per_s": count / elapsed,
        "messages_per_s": count * batch_size / elapsed,
        "body_bytes": float(len(requests[0])),
    }


def _read_response(sock: socket.socket, pending: bytes) -> bytes:
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    need = end + _content_length(data[: end - 2])
    while len(data) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected answer: {data[:60]!r}")
    return data[need:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count", choices=("regex", "json"), default="regex")
    parser.add_argument("--probe", type=int, metavar="PORT", help="measure a running server")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.seconds, args.batch_size)), flush=True)
        return
    try:
        asyncio.run(serve(args.port, args.count))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
