"""A run of failed deliveries is logged when it starts, once, and when it ends."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from segment_web.collector import Collector
from tests.support.client_helpers import Callbacks, MakeClient, wait_until
from tests.support.recording_server import RecordingServer, Reply


def free_port() -> int:
    """A port that was just free: nothing listens there, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def records(caplog: pytest.LogCaptureFixture, level: int, words: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == level and words in record.getMessage()
    ]


def test_the_first_failure_is_logged_at_once_and_the_recovery_too(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG, logger="segment_web")
    port = free_port()
    client = make_client(host=f"http://127.0.0.1:{port}", max_retries=1000, flush_at=1)
    callback = Callbacks()
    client.track(user_id="u", event="While down", callback=callback)
    # Several attempts refused; the warning is there from the first, and only once.
    wait_until(lambda: len(records(caplog, logging.DEBUG, "; retry ")) >= 5, what="5 retries")
    (warning,) = records(caplog, logging.WARNING, "cannot deliver to")
    assert warning.startswith(f"segment_web: cannot deliver to 127.0.0.1:{port}: network error:")
    assert "refused" in warning.lower()
    assert records(caplog, logging.INFO, "recovered") == []
    assert callback.errors == []  # still retrying: nothing final yet

    with Collector(tmp_path / "events.sqlite3", port=port) as collector:
        assert callback.wait(1) == [None]
        assert [event.event_or_name for event in collector.events()] == ["While down"]
        (recovered,) = records(caplog, logging.INFO, "recovered")
        assert recovered.startswith(f"segment_web: delivery to 127.0.0.1:{port} recovered after ")
        # Delivery going on as usual logs nothing more.
        client.track(user_id="u", event="After", callback=callback)
        client.flush(timeout=10)
        assert callback.wait(2) == [None, None]
    assert len(records(caplog, logging.WARNING, "cannot deliver to")) == 1
    assert len(records(caplog, logging.INFO, "recovered")) == 1


def test_each_run_of_failures_is_logged_once(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="segment_web")
    client = make_client(max_retries=10)
    for run in range(2):
        server.reply(Reply(status=503), Reply(status=503), Reply(status=500))
        client.track(user_id="u", event=f"E{run}")
        assert client.flush(timeout=10) == 1
    warnings = records(caplog, logging.WARNING, "cannot deliver to")
    assert (
        warnings
        == [
            f"segment_web: cannot deliver to 127.0.0.1:{server.port}: HTTP 503: "
            + warnings[0].split("HTTP 503: ", 1)[1]
        ]
        * 2
    )
    recovered = records(caplog, logging.INFO, "recovered after 3 failed attempts")
    assert len(recovered) == 2


def test_a_final_failure_is_not_logged_twice(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="segment_web")
    server.reply(Reply(status=503))
    client = make_client(max_retries=0, error_handler=lambda error: None)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 0
    # The reporter logs the failed batch; no "retrying" warning for what is not retried.
    assert records(caplog, logging.WARNING, "cannot deliver to") == []
    assert len(records(caplog, logging.WARNING, "a batch of 1 message failed: HTTP 503")) == 1
    client.track(user_id="u", event="E2")
    assert client.flush(timeout=10) == 1
    assert len(records(caplog, logging.INFO, "recovered after 1 failed attempt in")) == 1
