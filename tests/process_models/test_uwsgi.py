"""A real uWSGI (master, 2 workers) serving the Django app: without --enable-threads a
warning names the fix (log and system check); with it, every event is delivered and a
shutdown flushes what is queued."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segment_web.uwsgi_threads import FIX, threads_disabled
from tests.process_models.servers import ChildProcess, free_port, get
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

UWSGI = shutil.which("uwsgi", path=str(Path(sys.executable).parent))
REQUESTS = 50


@pytest.fixture
def start_uwsgi(server: RecordingServer) -> Iterator[Any]:
    if UWSGI is None:
        pytest.fail("uwsgi is part of the dev extra; reinstall with `make test`")
    started: list[ChildProcess] = []

    def start(*options: str) -> tuple[ChildProcess, str]:
        port = free_port()
        command = [
            UWSGI, "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "2",
            "--module", "tests.process_models.django_site:wsgi_application",
            "--home", sys.prefix, "--die-on-term", "--need-app", *options,
        ]  # fmt: skip
        child = ChildProcess(command, {"SEGMENT_TEST_HOST": server.url})
        started.append(child)
        base = f"http://127.0.0.1:{port}"
        child.wait_http(f"{base}/track?n=0")
        return child, base

    yield start
    for child in started:
        child.close()


def test_without_threads_a_warning_names_the_fix(start_uwsgi: Any) -> None:
    child, base = start_uwsgi()
    assert FIX in child.log
    assert "segment_web.W004" in json.loads(get(f"{base}/checks"))["ids"]
    child.stop(signal.SIGTERM)


@pytest.mark.parametrize("lazy_apps", [False, True], ids=["preloaded", "lazy-apps"])
def test_with_threads_every_event_arrives_and_shutdown_flushes(
    start_uwsgi: Any, server: RecordingServer, lazy_apps: bool
) -> None:
    child, base = start_uwsgi("--enable-threads", *(["--lazy-apps"] if lazy_apps else []))
    assert FIX not in child.log
    assert "segment_web.W004" not in json.loads(get(f"{base}/checks"))["ids"]
    for number in range(REQUESTS):
        get(f"{base}/track?n=1&id={number}")
    code, took = child.stop(signal.SIGTERM)
    assert code == 0, child.log
    assert took < 10, child.log
    messages = server.wait_for(REQUESTS, timeout=10)
    by_request = Counter(m["properties"]["request"] for m in messages)
    assert len(by_request) == REQUESTS and set(by_request.values()) == {1}, child.log


def test_outside_uwsgi_nothing_is_reported() -> None:
    assert threads_disabled() is False
