"""Interpreter exit: queued messages are flushed by atexit, bounded by shutdown_timeout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tests.support.recording_server import RecordingServer, Reply


def run_script(body: str, timeout: float = 20.0) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.monotonic() - start


def test_a_message_queued_at_exit_still_arrives(server: RecordingServer) -> None:
    done, _ = run_script(
        f"""
        from segment_web import Analytics
        client = Analytics("exit-key", host={server.url!r}, flush_at=100, flush_interval=60)
        client.flushed = True  # nothing would go before exit without the atexit flush
        client.track(user_id="u", event="Queued At Exit")
        """
    )
    assert done.returncode == 0, done.stderr
    (message,) = server.wait_for(1, timeout=5)
    assert message["event"] == "Queued At Exit"
    assert server.accepted[0].body["writeKey"] == "exit-key"


def test_exit_is_bounded_by_shutdown_timeout_against_a_hung_server(
    server: RecordingServer,
) -> None:
    server.default = Reply(delay=30.0)
    baseline, startup = run_script("import segment_web")
    assert baseline.returncode == 0, baseline.stderr
    done, elapsed = run_script(
        f"""
        from segment_web import Analytics
        import time
        client = Analytics("k", host={server.url!r}, shutdown_timeout=1.0, flush_at=100)
        client.track(user_id="u", event="Never Answered")  # the first goes at once
        deadline = time.monotonic() + 10
        while client.queued and time.monotonic() < deadline:  # until it is in flight
            time.sleep(0.01)
        client.track(user_id="u", event="Still Queued")
        """
    )
    assert done.returncode == 0, done.stderr
    server.wait_arrived(1, timeout=1)  # it did try to send
    assert elapsed >= 0.9  # the exit flush waited for the server...
    assert elapsed - startup < 1.0 + 3.0  # ...for about shutdown_timeout, not 30 s
    # neither message is lost silently
    assert "1 message(s) still in flight" in done.stderr
    assert "dropped 1 message(s): not delivered before the process exited" in done.stderr
