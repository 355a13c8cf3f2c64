"""After os.fork() the child's client works and does not resend the parent's queue."""

from __future__ import annotations

import os

import pytest

from tests.support.client_helpers import MakeClient
from tests.support.forking import wait_child
from tests.support.recording_server import RecordingServer

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()"),
    # Python 3.12+ warns on fork() with threads running: that is the situation under test
    pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning"),
]


def test_child_sends_its_own_messages_not_the_parents(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=True, flush_at=100)
    parent_ids = [client.track(user_id="parent", event=f"P{n}") for n in range(5)]
    assert client.queued == 5

    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        code = 1
        try:
            client.track(user_id="child", event="From Child")
            code = 0 if client.flush(timeout=10) == 1 and client.queued == 0 else 3
        finally:
            os._exit(code)

    assert wait_child(pid) == 0
    assert [m["event"] for m in server.wait_for(1)] == ["From Child"]
    assert client.flush(timeout=10) == 5
    messages = server.wait_for(6)
    assert [m["messageId"] for m in messages[1:]] == parent_ids
    assert len({m["messageId"] for m in messages}) == 6


def test_child_recreates_the_delivery_thread_of_a_running_client(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=False, flush_at=1)
    client.track(user_id="parent", event="Before Fork")
    server.wait_for(1)  # the parent's delivery thread is running now

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for n in range(3):
                client.track(user_id="child", event=f"C{n}")
            client.flush(timeout=10)  # raises if a batch failed; some may have gone before
            client.shutdown(timeout=5)
            code = 0
        finally:
            os._exit(code)

    assert wait_child(pid) == 0
    events = [m["event"] for m in server.wait_for(4)]
    assert events == ["Before Fork", "C0", "C1", "C2"]
    client.track(user_id="parent", event="After Fork")
    client.flush(timeout=10)
    assert server.wait_for(5)[-1]["event"] == "After Fork"
