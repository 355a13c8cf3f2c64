from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from segment_web import Analytics
from segment_web.delivery import transport
from tests.support.recording_server import RecordingServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real retry code, shorter waits (in this process only)."""
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(transport, "BACKOFF_MAX", 0.05)


MakeClient = Callable[..., Analytics]


@pytest.fixture
def make_client(server: RecordingServer, fast_backoff: None) -> Iterator[MakeClient]:
    """Spooling clients aimed at the recording server, shut down after the test."""
    clients: list[Analytics] = []

    def make(spool_dir: Path, **options: Any) -> Analytics:
        options.setdefault("host", server.url)
        options.setdefault("flush_at", 100)
        options.setdefault("flush_interval", 60.0)
        write_key = options.pop("write_key", "test-key")
        client = Analytics(write_key, spool_dir=spool_dir, **options)
        client.flushed = True
        clients.append(client)
        return client

    yield make
    server.release()
    for client in clients:
        with contextlib.suppress(Exception):
            client.shutdown(timeout=2.0)


class ClientProcess:
    """``tests/spool/client_process.py`` in a process of its own (see its docstring)."""

    def __init__(self, url: str, spool_dir: Path, tag: str, count: int, **config: Any) -> None:
        settings = {"url": url, "spool_dir": str(spool_dir), "tag": tag, "count": count}
        settings.setdefault("options", {})
        settings.update(config)
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.spool.client_process", json.dumps(settings)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def answer(self, timeout: float = 60.0) -> dict[str, Any]:
        """The process's next JSON line (fails on timeout or exit, with its stderr)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer in {timeout}s; stderr:\n{self.log()}") from None
        if line is None:
            raise AssertionError(f"the process exited; stderr:\n{self.log()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def command(self, text: str, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self.answer(timeout)

    def exit(self, timeout: float = 60.0) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"exit\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout) == 0, self.log()

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no atexit, no flush, nothing
        self.proc.wait(30)

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()


StartProcess = Callable[..., ClientProcess]


@pytest.fixture
def start_process(server: RecordingServer) -> Iterator[StartProcess]:
    """``start_process(spool_dir, tag, count, **config)``: a client process sending to
    ``server``, or to ``url=`` when given."""
    started: list[ClientProcess] = []

    def start(
        spool_dir: Path, tag: str, count: int, *, url: str | None = None, **config: Any
    ) -> ClientProcess:
        process = ClientProcess(url or server.url, spool_dir, tag, count, **config)
        started.append(process)
        return process

    yield start
    server.release()
    for process in started:
        process.stop()
