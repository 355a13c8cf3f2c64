"""The README's main job, end to end: three example apps as real HTTP servers, a real
collector, and the events it shows."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from segment_web.collector.store import EventStore

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_shows_events_from_every_framework(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    # An earlier run's events: the demo starts afresh, and says so.
    with EventStore(tmp_path / "segment_web" / "demo.sqlite3") as earlier:
        earlier.add([{"type": "track", "event": "Old"}] * 5, write_key="k", received_at="x")
    result = subprocess.run(
        [sys.executable, "-m", "example_projects.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for app in ("django", "flask", "fastapi"):
        assert re.search(rf"── {app} \(8 events\)", out), out
    assert "24 events arrived from 3 apps." in out
    # the returning visitor's classic analytics.js cookie was read on every app
    assert out.count(" demo-visitor-1 ") == 3 * 3
    # context captured from the request
    assert out.count("userAgent='segment-web-demo/1.0 (+make demo)' locale='en-GB'") == 3
    assert out.count("source=newsletter name=autumn") == 3
    assert out.count(" 127.0.0.1 ") == 24
    assert "Signed Up" in out and "Product Added" in out
    # the collector judged each event against the example tracking plan
    assert "6 of them break the tracking plan 'Example shop'" in out
    assert out.count("✗ properties.currency: 'currency' is a required property") == 6
    db = tmp_path / "segment_web" / "demo.sqlite3"
    assert db.exists()
    assert f"(SQLite: {db})\n  (deleted the 5 events an earlier run left there)\n" in out
    assert "Old" not in out
    # The last line's command works from here, with this Python (the venv's).
    last = out.strip().splitlines()[-1]
    command = last.split(": ", 1)[1].split("  →  ")[0]
    python, *args = shlex.split(command)
    assert args[:2] == ["-m", "segment_web.collector"] and args[2::2] == ["--db", "--plan"]
    assert Path(args[3]) == db and (ROOT / args[5]).is_file(), command
    found = shutil.which(python) if "/" not in python else str(ROOT / python)
    assert found is not None
    prefix = subprocess.run(
        [found, "-c", "import sys; print(sys.prefix)"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert prefix == sys.prefix, command
    ports = re.findall(r"shop on http://127\.0\.0\.1:(\d+)", out)
    assert len(ports) == 3
    assert not example_app_processes(ports), "the demo left an example app running"


def example_app_processes(ports: list[str]) -> list[str]:
    """Command lines of example shops still serving on ``ports`` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        shop = any(arg.startswith(b"example_projects.") and arg.endswith(b"_shop") for arg in args)
        if shop and args[-2].decode(errors="replace") in ports:  # ... --port N, then b""
            found.append(b" ".join(args).decode(errors="replace"))
    return found
