"""SIGTERM under real ASGI servers, Django app, no FlushOnShutdown wrapper: every
queued event arrives, and the process still ends the way the server ends it."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest

from tests.process_models.conftest import ServeSite
from tests.process_models.servers import (
    GUNICORN_CONF,
    assert_each_event_once,
    get,
    send_requests,
    wait_booted,
    wait_until,
)
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
    if name == "daphne":
        return [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP]
    return [python, "-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-w", "2",
            "-b", f"127.0.0.1:{port}", *GUNICORN_CONF, APP]  # fmt: skip


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn", "daphne", "gunicorn-uvicorn"])
def test_sigterm_flushes_every_queued_event(
    serve_site: ServeSite, server: RecordingServer, name: str, tmp_path: Path
) -> None:
    child, base = serve_site(
        lambda port: server_command(name, port), SEGMENT_TEST_BOOTED=str(tmp_path)
    )
    send_requests(base, REQUESTS, EVENTS_PER_REQUEST)
    if name == "gunicorn-uvicorn":
        wait_booted(tmp_path, 2, lambda: child.log)  # a worker still booting loses a SIGTERM
    code, took = child.stop(signal.SIGTERM)
    # uvicorn ends by the re-raised signal (handed on, not swallowed); the others exit
    assert code == (-signal.SIGTERM if name == "uvicorn" else 0), child.log
    assert_each_event_once(server, REQUESTS, EVENTS_PER_REQUEST, child.log)
    assert took < 10, child.log


def test_opting_out_leaves_the_queue_to_the_server(
    serve_site: ServeSite, server: RecordingServer
) -> None:
    """The same run with ``FLUSH_ON_SIGNALS: False``: uvicorn's re-raised SIGTERM ends the
    process before anything flushes, so only the first message (sent at once) arrives."""
    child, base = serve_site(
        lambda port: server_command("uvicorn", port), SEGMENT_TEST_FLUSH_ON_SIGNALS="0"
    )
    send_requests(base, REQUESTS, EVENTS_PER_REQUEST)
    code, _ = child.stop(signal.SIGTERM)
    assert code == -signal.SIGTERM, child.log
    server.wait_for(1, timeout=10)
    assert len(server.messages) < REQUESTS * EVENTS_PER_REQUEST


def test_a_request_finished_during_graceful_shutdown_without_lifespan_is_delivered(
    serve_site: ServeSite, server: RecordingServer, tmp_path: Path
) -> None:
    """uvicorn ``--lifespan off``, the middleware built at the first request: SIGTERM
    arrives while a request runs; uvicorn lets it finish, then ends the process by the
    re-raised signal. What that request queued after the signal must still arrive."""
    release = tmp_path / "release"
    app = "tests.process_models.starlette_site:application"
    options = ["--lifespan", "off", "--log-level", "info"]
    child, base = serve_site(
        lambda port: [sys.executable, "-m", "uvicorn", app, "--port", str(port), *options],
        SEGMENT_TEST_RELEASE=str(release),
    )
    server.wait_for(1)  # the first request's event, sent at once
    answer: list[bytes] = []
    slow = threading.Thread(target=lambda: answer.append(get(f"{base}/slow", timeout=30)))
    slow.start()
    wait_until(lambda: Path(f"{release}.started").exists(), 20, "the slow request runs")
    child.process.send_signal(signal.SIGTERM)
    wait_until(lambda: "Shutting down" in child.log, 20, "uvicorn's graceful shutdown began")
    release.touch()
    slow.join(30)
    code = child.process.wait(30)
    assert answer == [b"done"], child.log
    assert code == -signal.SIGTERM, child.log
    assert "Slow Finished" in [m["event"] for m in server.messages], child.log
