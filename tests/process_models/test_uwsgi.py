"""A real uWSGI (master, 2 workers) serving the Django app: without --enable-threads a
warning names the fix (log and system check); with it, every event is delivered and a
shutdown flushes what is queued."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from segment_web.process.uwsgi import FIX, threads_disabled
from tests.process_models.conftest import ServeSite
from tests.process_models.servers import (
    ChildProcess,
    assert_each_event_once,
    get,
    send_requests,
    wait_until,
)
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

UWSGI = shutil.which("uwsgi", path=str(Path(sys.executable).parent))
REQUESTS = 50


StartUwsgi = Callable[..., tuple[ChildProcess, str]]


@pytest.fixture
def start_uwsgi(serve_site: ServeSite) -> StartUwsgi:
    if UWSGI is None:
        pytest.fail("uwsgi is part of the dev extra; reinstall with `make test`")
    app = "tests.process_models.django_site:wsgi_application"

    def start(*options: str) -> tuple[ChildProcess, str]:
        def command(port: int) -> list[str]:
            return [UWSGI, "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "2",
                    "--module", app, "--home", sys.prefix, "--die-on-term", "--need-app",
                    *options]  # fmt: skip

        return serve_site(command)

    return start


def test_without_threads_a_warning_names_the_fix(
    start_uwsgi: StartUwsgi,
) -> None:
    child, base = start_uwsgi()
    assert FIX in child.log
    assert "segment_web.W008" in json.loads(get(f"{base}/checks"))["ids"]
    child.stop(signal.SIGTERM)


@pytest.mark.parametrize("lazy_apps", [False, True], ids=["preloaded", "lazy-apps"])
def test_with_threads_every_event_arrives_and_shutdown_flushes(
    start_uwsgi: StartUwsgi, server: RecordingServer, lazy_apps: bool
) -> None:
    child, base = start_uwsgi("--enable-threads", *(["--lazy-apps"] if lazy_apps else []))
    # with --lazy-apps each worker loads the app itself: a stop mid-import is another test
    loads = 2 if lazy_apps else 1
    wait_until(
        lambda: child.log.count(") ready in ") >= loads, 60, "the app to load", lambda: child.log
    )
    assert FIX not in child.log
    assert "segment_web.W008" not in json.loads(get(f"{base}/checks"))["ids"]
    send_requests(base, REQUESTS)
    code, took = child.stop(signal.SIGTERM)
    assert code == 0, child.log
    assert took < 10, child.log
    assert_each_event_once(server, REQUESTS, log=child.log)


def test_outside_uwsgi_nothing_is_reported() -> None:
    assert threads_disabled() is False
