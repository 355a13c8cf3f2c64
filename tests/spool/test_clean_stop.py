"""A process stopped cleanly (SIGTERM, exit) with everything delivered leaves no files."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.spool.conftest import StartProcess
from tests.support.recording_server import OUTAGE, RecordingServer


@pytest.mark.parametrize("flushed", [True, False], ids=["flushed", "pending"])
def test_sigterm_after_delivery_leaves_an_empty_spool_dir(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path, flushed: bool
) -> None:
    process = start_process(tmp_path, "a", 3)
    assert process.answer() == {"tracked": 3, "dropped": [], "not_spooled": 0}
    assert os.listdir(tmp_path) != []  # the live spool: segment, .ack and .lock
    if flushed:
        assert process.command("flush") == {"flushed": 3, "dropped": []}
    process.proc.send_signal(signal.SIGTERM)
    # The default action ends it, after the flush on SIGTERM sent what was pending.
    assert process.proc.wait(30) == -signal.SIGTERM, process.log()
    assert sorted(m["messageId"] for m in server.messages) == ["a-0", "a-1", "a-2"]
    assert os.listdir(tmp_path) == [], process.log()


def test_exit_after_delivery_leaves_an_empty_spool_dir(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    process = start_process(tmp_path, "a", 3)
    process.answer()
    process.exit()  # shutdown(), then a normal exit (atexit)
    assert len(server.messages) == 3
    assert os.listdir(tmp_path) == []


def test_sigterm_with_messages_undelivered_leaves_them_for_the_next_process(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE  # the successor must share the host: spools are per key and host
    stopped = start_process(
        tmp_path, "a", 3, options={"shutdown_timeout": 0.5, "max_retries": 1000}
    )
    stopped.answer()
    stopped.proc.send_signal(signal.SIGTERM)
    assert stopped.proc.wait(30) == -signal.SIGTERM, stopped.log()
    assert os.listdir(tmp_path) != []
    server.end_outage()
    successor = start_process(tmp_path, "b", 0)
    successor.answer()
    assert successor.command("flush") == {"flushed": 3, "dropped": []}
    successor.exit()
    assert sorted(m["messageId"] for m in server.messages) == ["a-0", "a-1", "a-2"]
    assert os.listdir(tmp_path) == []
