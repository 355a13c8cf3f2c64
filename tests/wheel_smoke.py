"""Smoke test of the installed wheel, run by ``nox -s package`` with a clean venv's Python
from outside the clone (pytest does not collect it).

Imports every adapter from the installed package, starts ``python -m segment_web.collector``
on a free port of 127.0.0.1, sends one event with the client, checks that it arrived
through the collector's JSON API and stops the collector.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

DEADLINE = 60.0  # seconds for any one step; generous for a loaded machine
POLL = 0.05
ADAPTERS = (
    "segment_web.django",
    "segment_web.flask",
    "segment_web.asgi",
    "segment_web.collector",
    "segment_web.testing",
)
EVENT = "Wheel Installed"


def check_installed_package() -> None:
    import segment_web

    location = Path(segment_web.__file__).resolve().parent
    assert "site-packages" in location.parts, f"segment_web imported from {location}"
    assert (location / "py.typed").is_file(), "the wheel ships no py.typed"
    for name in ADAPTERS:
        importlib.import_module(name)
    plugins = {
        entry.name: entry.value for entry in importlib.metadata.entry_points(group="pytest11")
    }
    assert plugins.get("segment_web") == "segment_web.testing", plugins
    # Installed, not run from a clone: hints name the published distribution.
    from segment_web.collector.hints import install_command

    hint = install_command("collector")
    assert hint.endswith(" -m pip install 'segment-web[collector]'"), hint
    # Metadata: no development extras published, project URLs present.
    metadata = importlib.metadata.metadata("segment-web")
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert not extras & {"dev", "bench"}, extras
    assert metadata.get_all("Project-URL"), "the wheel has no project URLs"
    print(f"imported {', '.join(ADAPTERS)} from {location}")


class Collector:
    """``python -m segment_web.collector`` on a free port; its stdout read on a thread."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "segment_web.collector", "--port", "0", "--db", str(db)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = self._announced_url()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _announced_url(self) -> str:
        line = self.lines.get(timeout=DEADLINE)
        assert line is not None, f"the collector exited with {self.process.wait(DEADLINE)}"
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, f"unexpected first line: {line!r}"
        return found.group(1)

    def events(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/events", timeout=DEADLINE)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["events"]
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            code = self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert code == 0, f"the collector exited with {code}"


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            result = condition()
        except requests.ConnectionError:
            result = None
        if result:
            return result
        time.sleep(POLL)
    raise AssertionError(f"{what} within {DEADLINE}s")


def send_one_event(url: str) -> None:
    from segment_web import Analytics

    analytics = Analytics("smoke-key", host=url, flush_at=1)
    analytics.track(user_id="smoke-user", event=EVENT, properties={"via": "wheel"})
    analytics.flush(timeout=DEADLINE)
    analytics.shutdown()


def main() -> None:
    check_installed_package()
    with tempfile.TemporaryDirectory() as tmp:
        collector = Collector(Path(tmp) / "events.sqlite3")
        try:
            wait_for(lambda: collector.events() == [], "no answer from the empty collector")
            send_one_event(collector.url)
            (event,) = wait_for(collector.events, "the event did not arrive")
        finally:
            collector.stop()
    assert event["type"] == "track", event
    assert event["event_or_name"] == EVENT, event
    assert event["user_id"] == "smoke-user", event
    assert event["write_key"] == "smoke-key", event
    assert event["message"]["properties"] == {"via": "wheel"}, event
    print(f"the event arrived at {collector.url}: {event['type']} {event['event_or_name']!r}")


if __name__ == "__main__":
    main()
