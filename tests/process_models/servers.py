"""Start a real server or worker as a child process, wait for it, stop it with a signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.support.recording_server import RecordingServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] = str
) -> None:
    """Poll ``condition`` until true; fail naming ``what`` (and showing ``log()``) after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{log()}")
        time.sleep(0.05)


# gunicorn's settings for the tests (gunicorn_conf.py): each booted worker leaves a file.
GUNICORN_CONF = ["-c", "python:tests.process_models.gunicorn_conf"]


def wait_booted(directory: Path, workers: int, log: Callable[[], str]) -> None:
    """Wait until ``workers`` gunicorn workers have booted (see gunicorn_conf.py)."""
    wait_until(lambda: len(os.listdir(directory)) >= workers, 60, "the workers to boot", log)


def get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
        return body


class ChildProcess:
    """A server or worker under test; its output goes to a file shown when a test fails."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str]) -> None:
        self.output = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop())
            prefix="segment-web-child-", suffix=".log"
        )
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=environment,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return Path(self.output.name).read_text(errors="replace")[-20_000:]

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        """Wait until ``url`` answers (the server is up and its app loaded)."""

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log}")
            try:
                get(url, timeout=2.0)
            except (urllib.error.URLError, OSError):
                return False
            return True

        wait_until(answers, timeout, f"{url} to answer", lambda: self.log)

    def stop(
        self,
        sig: int = signal.SIGTERM,
        timeout: float = 30.0,
        meanwhile: Callable[[], object] | None = None,
    ) -> tuple[int, float]:
        """Send ``sig``, call ``meanwhile`` (if given), wait for the exit; returns (return
        code, seconds it took)."""
        start = time.monotonic()
        self.process.send_signal(sig)
        if meanwhile is not None:
            meanwhile()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"did not exit within {timeout}s of {sig}:\n{self.log}") from None
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def close(self) -> None:
        self.kill()
        self.output.close()


def send_requests(base: str, requests: int, events_per_request: int = 1) -> None:
    """``requests`` requests to the Django test site, each tracking that many events."""
    for number in range(requests):
        get(f"{base}/track?n={events_per_request}&id={number}")


def assert_each_event_once(
    server: RecordingServer, requests: int, events_per_request: int = 1, log: str = ""
) -> None:
    """Every event of ``send_requests`` arrived, exactly once."""
    expected = {(str(r), n) for r in range(requests) for n in range(events_per_request)}
    try:
        messages = server.wait_for(len(expected), timeout=10)
    except AssertionError as missing:
        arrived = {(m["properties"]["request"], m["properties"]["number"]) for m in server}
        raise AssertionError(f"{missing}; missing {sorted(expected - arrived)}\n{log}") from None
    sent = Counter((m["properties"]["request"], m["properties"]["number"]) for m in messages)
    assert set(sent) == expected and set(sent.values()) == {1}, log
    # Segment keeps one message per messageId: workers that repeat each other's ids lose
    # events there even though every one of them was sent.
    repeated = [i for i, n in Counter(m["messageId"] for m in messages).items() if n > 1]
    assert not repeated, f"{len(repeated)} messageId(s) sent more than once\n{log}"
