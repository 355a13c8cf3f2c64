"""``python -m segment_web.collector`` in a subprocess: start, serve, stop, refuse."""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import TIMEOUT, assert_refused, events, post, track

REPO = Path(__file__).resolve().parents[2]


class Running:
    """A collector process whose stdout lines are read on a thread (reads never hang)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "segment_web.collector", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def next_line(self) -> str:
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no output in {TIMEOUT}s") from None
        assert line is not None, f"process ended: {self.finish()}"
        return line

    def finish(self) -> tuple[int, str]:
        """Wait for the exit (bounded); the exit code and all of stderr."""
        try:
            code = self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the collector did not exit") from None
        for pump in self._pumps:
            pump.join(timeout=TIMEOUT)
        return code, "".join(self._stderr)

    def rest_of_stdout(self) -> str:
        lines = []
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            lines.append(line)
        return "".join(lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


@pytest.fixture
def run() -> Iterator[type[Running]]:
    started: list[Running] = []

    class Tracked(Running):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for process in started:
        process.kill()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_starts_prints_its_url_serves_and_stops_cleanly(
    run: type[Running], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    db = tmp_path / "cli.sqlite3"
    collector = run("--port", "0", "--db", str(db), "--write-key", "dev")
    first = collector.next_line()
    assert first.startswith("segment_web collector listening on http://127.0.0.1:"), first
    url = first.split()[4]
    assert str(db) in collector.next_line()

    assert post(url, "/v1/track", track(event="From CLI"), key="dev").status_code == 200
    assert_refused(post(url, "/v1/track", track(), key="other"), 401, "invalid write key")
    assert [event["event_or_name"] for event in events(url)] == ["From CLI"]
    assert requests.get(url + "/", timeout=TIMEOUT).status_code == 200

    collector.process.send_signal(stop_signal)
    code, stderr = collector.finish()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "collector stopped" in collector.rest_of_stdout()
    assert "track" in stderr and "From CLI" in stderr  # the per-message log line
    assert db.exists()


def test_a_busy_port_exits_2_with_one_clear_line(run: type[Running], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        collector = run("--port", str(port), "--db", str(tmp_path / "db.sqlite3"))
        code, stderr = collector.finish()
    assert code == 2
    assert stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use; "
        "stop the other server or pick another with --port"
    )


def test_a_file_that_is_not_a_database_exits_2(run: type[Running], tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello, this is not SQLite" * 100)
    code, stderr = run("--port", "0", "--db", str(not_a_db)).finish()
    assert code == 2
    assert stderr.startswith(f"error: cannot use the database {not_a_db}")
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], "--port: must be a number"),
        (["--write-key", ""], "must not be empty"),
        (["--latency", "soon"], "argument --latency: invalid float value: 'soon'"),
        (["--latency", "-5"], "error: --latency must be a number from 0 to 600000 ms, got -5.0"),
        (["--fail-rate", "20"], "error: --fail-rate must be a number from 0 to 1, got 20.0"),
        (["--fail-status", "200"], "error: --fail-status must be an HTTP error status from 400"),
        (["--retry-after", "2"], "error: --retry-after goes with failures: set --fail-rate or"),
    ],
)
def test_bad_options_exit_2(run: type[Running], args: list[str], words: str) -> None:
    code, stderr = run(*args).finish()
    assert code == 2
    assert words in stderr


def test_startup_text_gives_a_client_line_with_the_write_key(
    run: type[Running], tmp_path: Path
) -> None:
    collector = run("--port", "0", "--db", str(tmp_path / "db.sqlite3"), "--write-key", "dev-42")
    first = collector.next_line()
    url = first.split()[4]
    assert "only write key 'dev-42'" in first
    collector.next_line()  # database
    client_line = collector.next_line()
    assert client_line.strip() == f"client:   Analytics('dev-42', host='{url}', flush_at=1)"
    # The line works as written: that client's events are accepted.
    assert post(url, "/v1/track", track(), key="dev-42").status_code == 200


def test_fault_flags_are_shown_at_startup_and_fail_requests(
    run: type[Running], tmp_path: Path
) -> None:
    collector = run(
        "--port", "0", "--db", str(tmp_path / "db.sqlite3"),
        "--latency", "50", "--fail-status", "503", "--retry-after", "1",
    )  # fmt: skip
    url = collector.next_line().split()[4]
    collector.next_line()  # database
    assert collector.next_line().strip() == (
        "faults:   answers after 50 ms; fails every request with 503 and Retry-After: 1 "
        "(not stored)"
    )
    response = post(url, "/v1/batch", {"batch": [track()]})
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert events(url) == []


def test_allow_host_adds_a_host_name(run: type[Running], tmp_path: Path) -> None:
    collector = run(
        "--port", "0", "--db", str(tmp_path / "db.sqlite3"), "--allow-host", "collector.test"
    )
    url = collector.next_line().split()[4]
    port = url.rsplit(":", 1)[1]
    allowed = post(url, "/v1/track", track(), headers={"Host": f"collector.test:{port}"})
    assert allowed.status_code == 200, allowed.text
    refused = post(url, "/v1/track", track(), headers={"Host": f"attacker.example:{port}"})
    assert_refused(refused, 400, "--allow-host")
    assert len(events(url)) == 1


def test_help_documents_the_json_api_and_the_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segment_web.collector", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0
    for words in (
        "GET /api/events?type=&event=&user=&limit=&cursor=",
        "DELETE /api/events?type=&event=&user=",
        "--allow-host NAME",
        "Content-Type: application/json",
        "--latency MS",
        "--fail-rate RATE",
        "--fail-status STATUS",
        "--retry-after SECONDS",
        "-m pip install -e '.[collector]'",
    ):
        assert words in " ".join(result.stdout.split()), result.stdout
    # The usage names this interpreter as it can be called from here: `python` when PATH
    # finds it (a nox session), else its path (`.venv/bin/python` under make).
    shown = re.search(r"usage: (.+?) -m segment_web\.collector", result.stdout)
    assert shown is not None, result.stdout
    called = subprocess.run(
        [*shlex.split(shown.group(1)), "-c", "import sys; print(sys.executable)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert os.path.samefile(called.stdout.strip(), sys.executable), shown.group(1)


# Runs the command as a user without the extra would: uvicorn and starlette not importable.
WITHOUT_EXTRA = """
import runpy, sys
sys.modules["uvicorn"] = None
sys.modules["starlette"] = None
sys.argv = ["segment_web.collector", "--port", "0"]
runpy.run_module("segment_web.collector", run_name="__main__")
"""


def test_without_the_extra_it_names_the_extra_to_install(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert result.returncode == 2, result.stderr
    prefix = "error: the collector needs uvicorn and starlette, which its extra installs: "
    assert result.stderr.startswith(prefix), result.stderr
    assert_installs_the_extra_from_the_clone(result.stderr.strip()[len(prefix) :], REPO)
    # The store alone still imports; the server class says what to install.
    check = "import sys; sys.modules['uvicorn'] = None\n" + (
        "from segment_web.collector import EventStore\n"
        "try:\n    from segment_web.collector import Collector\n"
        "except ImportError as error:\n    print(error)\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert "-m pip install -e '.[collector]'" in imported.stdout, imported.stderr


def assert_installs_the_extra_from_the_clone(command: str, cwd: Path) -> None:
    """``command``, run in ``cwd``, would install the collector extra from this clone
    into the environment of the Python running the tests."""
    python, *args = shlex.split(command)
    assert args[:4] == ["-m", "pip", "install", "-e"], command
    target = args[4]
    assert target.endswith("[collector]") and len(args) == 5, command
    assert (cwd / target.removesuffix("[collector]")).resolve() == REPO
    # That python, from there, is this interpreter in this environment (a venv's).
    found = shutil.which(python, path=os.environ.get("PATH")) if "/" not in python else python
    assert found is not None, command
    prefix = subprocess.run(
        [found, "-c", "import sys; print(sys.prefix)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    ).stdout.strip()
    assert prefix == sys.prefix, (command, prefix)


@pytest.mark.parametrize("where", ["clone", "elsewhere"])
def test_the_install_hint_works_from_where_it_is_given(tmp_path: Path, where: str) -> None:
    cwd = REPO if where == "clone" else tmp_path
    result = subprocess.run(
        [sys.executable, "-c", "from segment_web.collector.hints import install_command\n"
         "print(install_command('collector'))"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip()
    if where == "clone":
        assert command.endswith(" -m pip install -e '.[collector]'"), command
    else:
        assert f"-e '{REPO}[collector]'" in command, command
    assert_installs_the_extra_from_the_clone(command, cwd)
