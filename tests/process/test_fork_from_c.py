"""After a fork() from C, which runs none of Python's at-fork hooks (uWSGI forks its
workers so), the child's client resets itself: it delivers its own messages, never the
parent's, draws message ids of its own, and does not wait for a lock that a thread of
the parent held at the fork.

Each scenario runs in a process of its own (see ``tests.support.forking``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")

ROOT = Path(__file__).resolve().parents[2]


def run_scenario(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.forking", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["stderr"] = done.stderr  # the child's traceback, if it failed
    return result


def test_the_child_sends_its_own_messages_not_the_parents(server: RecordingServer) -> None:
    result = run_scenario("client", server.url)
    assert result["child"] == 0, result["stderr"]  # its flush delivered its one message
    assert result["parent_delivered"] == 5
    messages = server.wait_for(6)
    assert [m["event"] for m in messages] == ["From Child", *(f"P{n}" for n in range(5))]
    assert [m["messageId"] for m in messages[1:]] == result["parent_ids"]
    assert len({m["messageId"] for m in messages}) == 6


def test_the_child_does_not_repeat_its_parents_message_ids() -> None:
    result = run_scenario("ids")
    assert result["child"] == 0 and len(result["child_ids"]) == 3, result["stderr"]
    assert not set(result["child_ids"]) & set(result["parent_ids"])


def test_a_lock_held_by_a_thread_of_the_parent_does_not_block_the_child() -> None:
    result = run_scenario("held-lock")
    assert result["child"] == 0, result["stderr"]
    assert result["parent_flush"] == [1, None] and result["parent_delivered"] == 1
