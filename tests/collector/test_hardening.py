"""The collector under a burst, on a kept-alive connection, and against hostile clients:
cross-site form posts, DNS rebinding and requests that trickle in."""

from __future__ import annotations

import asyncio
import http.client
import json
import select
import socket
import statistics
import time
from pathlib import Path

import pytest
import requests

from segment_web.collector import Collector

from .helpers import TIMEOUT, assert_refused, post, track

AUTH = "Basic a2V5Og=="  # write key "key"


def raw_post(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.slow
def test_a_burst_of_500_concurrent_posts_is_all_answered(collector: Collector) -> None:
    count = 500

    async def send(number: int, gate: asyncio.Event) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", collector.port)
        try:
            await gate.wait()  # every connection is open (or queued) before any request
            body = json.dumps({"batch": [track(user=f"u{number}", event="Burst")]}).encode()
            writer.write(raw_post("/v1/batch", body))
            await writer.drain()
            return await reader.read()  # until the server closes: the whole answer
        finally:
            writer.close()

    async def burst() -> list[bytes]:
        gate = asyncio.Event()
        tasks = [asyncio.create_task(send(number, gate)) for number in range(count)]
        await asyncio.sleep(0)  # let every task start connecting
        gate.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    answers = asyncio.run(burst())
    statuses = [answer.split(b"\r\n", 1)[0] for answer in answers]
    assert statuses == [b"HTTP/1.1 200 OK"] * count
    assert collector.store.count() == count


def test_small_batches_on_a_kept_alive_connection_are_answered_quickly(
    collector: Collector,
) -> None:
    # 48 ms per request was the signature of headers and body sent in separate writes
    # (Nagle + delayed ACK); the target is < 5 ms. The bound here only has to catch
    # that stall on a loaded CI machine; docs/collector.md reports the measured figure.
    connection = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=TIMEOUT)
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    durations = []
    try:
        for number in range(60):
            body = json.dumps({"batch": [track(event=f"E{number}")]})
            started = time.perf_counter()
            connection.request("POST", "/v1/batch", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            durations.append(time.perf_counter() - started)
            assert response.status == 200
            assert response.getheader("Connection") != "close"
    finally:
        connection.close()
    assert collector.store.count() == 60
    assert statistics.median(durations[10:]) < 0.025, durations


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"],
)
def test_tracking_bodies_must_be_json(collector: Collector, content_type: str | None) -> None:
    # What an HTML form with enctype=text/plain on any web page sends: the field name
    # and value around "=" can be made to look like JSON.
    body = b'{"batch": [{"type": "track", "userId": "x", "event": "Forged", "p": "="}]}\r\n'
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(
        collector.url + "/v1/batch", data=body, headers=headers, auth=("key", ""), timeout=TIMEOUT
    )
    assert_refused(response, 415, "Content-Type must be application/json")
    assert collector.events() == []
    # The same body as JSON (any charset parameter) is what clients send, and is stored.
    accepted = post(
        collector.url,
        "/v1/batch",
        body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert accepted.status_code == 200, accepted.text
    assert [event.event_or_name for event in collector.events()] == ["Forged"]


@pytest.mark.parametrize("path", ["/", "/api/events", "/v1/track"])
def test_a_foreign_host_name_is_refused(collector: Collector, path: str) -> None:
    # DNS rebinding: attacker.example resolves to 127.0.0.1, the browser still says so.
    headers = {"Host": f"attacker.example:{collector.port}", "Content-Type": "application/json"}
    response = requests.request(
        "POST" if path.startswith("/v1") else "GET",
        collector.url + path,
        data=json.dumps(track()).encode(),
        headers=headers,
        auth=("key", ""),
        timeout=TIMEOUT,
    )
    assert_refused(response, 400, "Host 'attacker.example:")
    assert "--allow-host" in response.json()["message"]
    assert collector.events() == []


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "127.0.0.1:{port}", "LOCALHOST", "127.0.0.1", "[::1]:{port}"]
)
def test_local_names_and_addresses_are_answered(collector: Collector, host: str) -> None:
    headers = {"Host": host.format(port=collector.port)}
    response = requests.get(collector.url + "/api/events", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def test_allowed_hosts_are_answered_and_others_still_refused(db_path: Path) -> None:
    with Collector(db_path, allowed_hosts=["collector.test"]) as collector:
        ok = post(collector.url, "/v1/track", track(), headers={"Host": "Collector.Test:80"})
        assert ok.status_code == 200, ok.text
        refused = post(collector.url, "/v1/track", track(), headers={"Host": "other.test"})
        assert_refused(refused, 400, "not served here")
        assert len(collector.events()) == 1


def read_until_closed(sock: socket.socket, trickle: bytes, deadline: float) -> tuple[bytes, float]:
    """Send ``trickle`` one byte per 0.1 s until the server closes; its answer and when
    (``time.monotonic()``)."""
    started = time.monotonic()
    answer = b""
    for position in range(10_000):
        if time.monotonic() > started + deadline:
            raise AssertionError(f"the connection was still open after {deadline} s")
        if position < len(trickle):
            try:
                sock.sendall(trickle[position : position + 1])
            except OSError:  # closed under us
                break
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic()


@pytest.mark.parametrize("phase", ["headers", "body", "nothing"])
def test_a_trickling_request_is_cut_off_at_the_read_timeout(db_path: Path, phase: str) -> None:
    read_timeout = 1.0
    body = json.dumps(track()).encode()
    request = raw_post("/v1/track", body)
    head = request[: len(request) - len(body)]
    with Collector(db_path, read_timeout=read_timeout) as collector:
        opened = time.monotonic()  # the server's clock for this connection starts later
        with socket.create_connection(("127.0.0.1", collector.port), timeout=TIMEOUT) as sock:
            if phase == "body":
                sock.sendall(head)
                trickle = body
            else:
                trickle = request if phase == "headers" else b""
            # The trickle is far longer than the timeout: one byte per 0.1 s.
            assert len(trickle) * 0.1 > 5 * read_timeout or phase == "nothing"
            # Meanwhile the collector serves everyone else.
            assert post(collector.url, "/v1/track", track(event="Other")).status_code == 200
            answer, closed = read_until_closed(sock, trickle, deadline=read_timeout + 8)
        assert closed - opened >= read_timeout * 0.95
        if phase == "nothing":
            assert answer == b""  # an idle connection is just closed
        else:
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b"request not received in time" in answer
        assert [event.event_or_name for event in collector.events()] == ["Other"]


def test_each_request_on_a_kept_alive_connection_gets_its_own_deadline(db_path: Path) -> None:
    read_timeout = 1.0
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    with Collector(db_path, read_timeout=read_timeout) as collector:
        # http.client never reconnects by itself: a closed connection fails the loop.
        connection = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=TIMEOUT)
        started = time.monotonic()
        sent = 0
        try:
            # Well past one read_timeout in total, each request prompt: none is cut off.
            while time.monotonic() < started + 2.5 * read_timeout and sent < 2000:
                connection.request("POST", "/v1/track", body=json.dumps(track()), headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200
                sent += 1
        finally:
            connection.close()
        assert collector.store.count() == sent
