"""SIGTERM under real ASGI servers, Django app, no FlushOnShutdown wrapper: every
queued event arrives, and the process still ends the way the server ends it."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.process_models.servers import ChildProcess, free_port, get
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

APP = "tests.process_models.django_site:application"
REQUESTS = 10
EVENTS_PER_REQUEST = 3


def server_command(name: str, port: int) -> list[str]:
    python = sys.executable
    if name == "uvicorn":
        return [python, "-m", "uvicorn", APP, "--port", str(port), "--log-level", "warning"]
    if name == "hypercorn":
        return [python, "-m", "hypercorn", APP, "--bind", f"127.0.0.1:{port}"]
    return [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP]


@pytest.fixture
def serve(server: RecordingServer) -> Iterator[object]:
    started: list[ChildProcess] = []

    def start(name: str, **env: str) -> tuple[ChildProcess, str]:
        port = free_port()
        child = ChildProcess(server_command(name, port), {"SEGMENT_TEST_HOST": server.url, **env})
        started.append(child)
        base = f"http://127.0.0.1:{port}"
        child.wait_http(f"{base}/track?n=0")
        return child, base

    yield start
    for child in started:
        child.close()


def send_requests(base: str) -> None:
    for number in range(REQUESTS):
        get(f"{base}/track?n={EVENTS_PER_REQUEST}&id={number}")


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn", "daphne"])
def test_sigterm_flushes_every_queued_event(
    serve: object, server: RecordingServer, name: str
) -> None:
    child, base = serve(name)  # type: ignore[operator]
    send_requests(base)
    code, took = child.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM), child.log
    total = REQUESTS * EVENTS_PER_REQUEST
    messages = server.wait_for(total, timeout=10)
    sent = Counter((m["properties"]["request"], m["properties"]["number"]) for m in messages)
    assert len(sent) == total and set(sent.values()) == {1}, sent
    assert took < 10, child.log


def test_uvicorn_still_ends_by_sigterm(serve: object) -> None:
    child, base = serve("uvicorn")  # type: ignore[operator]
    send_requests(base)
    code, _ = child.stop(signal.SIGTERM)
    assert code == -signal.SIGTERM, child.log  # the signal was handed on, not swallowed


def test_opting_out_leaves_the_queue_to_the_server(serve: object, server: RecordingServer) -> None:
    """The same run with ``FLUSH_ON_SIGNALS: False``: uvicorn's re-raised SIGTERM ends the
    process before anything flushes, so only the first message (sent at once) arrives."""
    child, base = serve("uvicorn", SEGMENT_TEST_FLUSH_ON_SIGNALS="0")  # type: ignore[operator]
    send_requests(base)
    code, _ = child.stop(signal.SIGTERM)
    assert code == -signal.SIGTERM, child.log
    server.wait_for(1, timeout=10)
    assert len(server.messages) < REQUESTS * EVENTS_PER_REQUEST
