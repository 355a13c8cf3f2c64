"""A real uWSGI (master, 2 workers) serving the Django app: without --enable-threads a
warning names the fix (log and system check); with it, every event is delivered, once
and with an id of its own, and a stop flushes what is queued, in a worker still serving
a request too."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import threading
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
# uWSGI 2.0 stops its workers at once on SIGTERM with --die-on-term (on SIGINT and
# SIGQUIT always), and a worker still busy with a request then runs no Python exit code:
# its queue is lost. The README's recipe makes SIGTERM a graceful stop instead: each
# worker finishes its request, then exits normally, through the exit flush.
GRACEFUL_STOP = ("--hook-master-start", "unix_signal:15 gracefully_kill_them_all")


StartUwsgi = Callable[..., tuple[ChildProcess, str]]


@pytest.fixture
def start_uwsgi(serve_site: ServeSite) -> StartUwsgi:
    if UWSGI is None:
        pytest.fail("uwsgi is part of the dev extra; reinstall with `make test`")
    app = "tests.process_models.django_site:wsgi_application"

    def start(*options: str) -> tuple[ChildProcess, str]:
        def command(port: int) -> list[str]:
            return [UWSGI, "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "2",
                    "--module", app, "--home", sys.prefix, *GRACEFUL_STOP, "--need-app",
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
    start_uwsgi: StartUwsgi, server: RecordingServer, lazy_apps: bool, tmp_path: Path
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
    # One more request is still being served when the stop reaches the workers.
    entered, release = tmp_path / "entered", tmp_path / "release"
    answers: list[bytes] = []
    held = f"{base}/held?id={REQUESTS}&entered={entered}&release={release}"
    holder = threading.Thread(target=lambda: answers.append(get(held, timeout=60)))
    holder.start()
    wait_until(entered.exists, 30, "the held request to be served", lambda: child.log)

    def release_once_both_workers_are_stopping() -> None:
        def stopping() -> bool:
            return child.log.count("Gracefully killing worker") >= 2

        wait_until(stopping, 30, "the workers to be told to stop", lambda: child.log)
        release.touch()

    try:
        code, took = child.stop(signal.SIGTERM, meanwhile=release_once_both_workers_are_stopping)
    finally:
        release.touch()  # never leave the request (and its thread) waiting
        holder.join(60)
    assert code == 0, child.log
    assert took < 10, child.log
    assert answers, child.log  # its worker finished the request before it ended
    assert_each_event_once(server, REQUESTS + 1, log=child.log)


def test_outside_uwsgi_nothing_is_reported() -> None:
    assert threads_disabled() is False
