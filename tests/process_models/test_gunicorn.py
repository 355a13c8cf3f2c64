"""gunicorn with green and threaded workers, 2 processes, a Django app: 200 requests,
SIGTERM, every event arrives exactly once and the server is gone within seconds."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.process_models.conftest import ServeSite
from tests.process_models.servers import (
    GUNICORN_CONF,
    assert_each_event_once,
    send_requests,
    wait_booted,
)
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

REQUESTS = 200


def gunicorn(port: int, worker_options: list[str]) -> list[str]:
    app = "tests.process_models.django_site:wsgi_application"
    return [sys.executable, "-m", "gunicorn", app, "-w", "2", "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "10", *GUNICORN_CONF, *worker_options]  # fmt: skip


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
    serve_site: ServeSite, server: RecordingServer, worker_options: list[str], tmp_path: Path
) -> None:
    booted = str(tmp_path)
    child, base = serve_site(
        lambda port: gunicorn(port, worker_options), SEGMENT_TEST_BOOTED=booted
    )
    send_requests(base, REQUESTS)
    wait_booted(tmp_path, 2, lambda: child.log)  # a worker still booting loses a SIGTERM
    code, took = child.stop(signal.SIGTERM)
    assert code == 0, child.log
    assert took < 8, child.log
    assert_each_event_once(server, REQUESTS, log=child.log)
