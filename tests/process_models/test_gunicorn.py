"""gunicorn with green and threaded workers, 2 processes, a Django app: 200 requests,
SIGTERM, every event arrives exactly once and the server is gone within seconds."""

from __future__ import annotations

import signal
import sys
from collections import Counter

import pytest

from tests.process_models.servers import ChildProcess, free_port, get
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

REQUESTS = 200


@pytest.mark.parametrize(
    "worker_options",
    [
        ["-k", "gevent"],
        ["-k", "gevent", "--preload"],
        ["-k", "gthread", "--threads", "4"],
        ["-k", "sync"],
    ],
    ids=["gevent", "gevent-preload", "gthread", "sync"],
)
def test_sigterm_delivers_every_event_once(
    server: RecordingServer, worker_options: list[str]
) -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "tests.process_models.django_site:wsgi_application",
        "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "10", *worker_options,
    ]  # fmt: skip
    child = ChildProcess(command, {"SEGMENT_TEST_HOST": server.url})
    try:
        base = f"http://127.0.0.1:{port}"
        child.wait_http(f"{base}/track?n=0")
        pids = {get(f"{base}/track?n=1&id={number}") for number in range(REQUESTS)}
        code, took = child.stop(signal.SIGTERM)
    finally:
        child.close()
    assert code == 0, child.log
    assert took < 8, child.log
    messages = server.wait_for(REQUESTS, timeout=10)
    by_request = Counter(m["properties"]["request"] for m in messages)
    assert sorted(by_request, key=int) == [str(n) for n in range(REQUESTS)], child.log
    assert set(by_request.values()) == {1}
    assert len(pids) >= 1  # answered by the workers (which of the two is up to gunicorn)
