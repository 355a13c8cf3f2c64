"""A client with a spool_dir, in this process: options, bounds, fallbacks, fork."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from segment_web import Analytics, MessageDropped, signals
from tests.spool.conftest import MakeClient, StartProcess
from tests.support.recording_server import OUTAGE, RecordingServer, Reply


def test_spool_options_default_off_and_are_checked_naming_the_option(tmp_path: Path) -> None:
    client = Analytics("key")
    assert (client.spool_dir, client.spool_max_bytes, client.spool_fsync_interval) == (
        None,
        512 * 1024 * 1024,
        1.0,
    )
    client.shutdown(timeout=1)
    bad: list[tuple[str, Any]] = [
        ("spool_dir", 42),
        ("spool_dir", ""),
        ("spool_max_bytes", 0),
        ("spool_max_bytes", "1GB"),
        ("spool_fsync_interval", -1),
        ("spool_fsync_interval", float("nan")),
    ]
    for name, value in bad:
        with pytest.raises(ValueError, match=name):
            Analytics("key", **{"spool_dir": tmp_path, name: value})
    assert os.listdir(tmp_path) == []


def test_past_spool_max_bytes_messages_are_dropped_as_spool_full_and_reported(
    make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    server.default = Reply(status=503)
    client = make_client(
        tmp_path, max_queue_size=10, spool_max_bytes=64 * 1024, max_retries=100_000
    )
    dropped: list[dict[str, Any]] = []

    def on_dropped(sender: object, **kwargs: Any) -> None:
        dropped.append(kwargs)

    signals.message_dropped.connect(on_dropped, sender=client)
    errors: list[Exception | None] = []
    try:
        ids = [
            client.track(
                user_id="u",
                event="E",
                properties={"pad": "x" * 300},
                callback=lambda e, b: errors.append(e),
            )
            for _ in range(1000)
        ]
    finally:
        signals.message_dropped.disconnect(on_dropped)
    assert 100 < len(dropped) < 1000
    assert {d["reason"] for d in dropped} == {"spool full"}
    assert all(isinstance(e, MessageDropped) for e in errors) and len(errors) == len(dropped)
    dropped_ids = {d["message_id"] for d in dropped}
    kept = [i for i in ids if i not in dropped_ids]
    assert dropped_ids == set(ids[len(kept) :])  # the newest ones, once the spool is full

    server.default = Reply()
    assert client.flush(timeout=60) == len(kept)
    # several batches in flight: each delivered once, in any order across batches
    assert sorted(m["messageId"] for m in server.messages) == sorted(kept)


def test_an_unusable_spool_dir_is_logged_and_the_client_works_from_memory(
    make_client: MakeClient,
    server: RecordingServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        client = make_client(not_a_directory / "spool")
    assert "cannot be used" in caplog.text and str(not_a_directory / "spool") in caplog.text
    message_id = client.track(user_id="u", event="Still Sent")
    assert client.flush(timeout=30) == 1
    assert [m["messageId"] for m in server.messages] == [message_id]


def test_a_client_shut_down_during_an_outage_leaves_its_messages_to_the_next(
    make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    server.default = Reply(status=503)
    first = make_client(tmp_path, max_retries=100_000)
    sent = [first.track(user_id="u", event=f"E{n}") for n in range(250)]
    first.shutdown(timeout=0.5)  # the outage goes on: nothing could be delivered
    assert os.listdir(tmp_path)
    # The spool is the next client's once the first one's delivery thread has let go of
    # it, which on a loaded machine can be after shutdown's own timeout.
    thread = first._pipeline.delivery_thread
    if thread is not None:
        thread.join(30)
        assert not thread.is_alive()

    server.default = Reply()
    second = make_client(tmp_path)
    # the batch whose retries the shutdown cut short (reported failed) is sent again too
    assert second.flush(timeout=30) == 250
    assert [m["messageId"] for m in server.messages] == sent


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_after_fork_no_message_is_sent_twice(
    make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    client = make_client(tmp_path)
    parent_ids = [client.track(user_id="parent", event=f"P{n}") for n in range(5)]
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        code = 1
        try:
            client.track(user_id="child", event="From Child")
            code = 0 if client.flush(timeout=20) == 1 else 3
            client.shutdown(timeout=10)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(timeout=20) == 5
    delivered = [m["messageId"] for m in server.messages]
    assert len(delivered) == len(set(delivered)) == 6
    assert set(parent_ids) < set(delivered)
    client.shutdown(timeout=10)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_takes_over_a_dead_processs_spool_and_flush_sends_it(
    make_client: MakeClient,
    server: RecordingServer,
    start_process: StartProcess,
    tmp_path: Path,
) -> None:
    client = make_client(tmp_path)  # made before the other process died: it adopts nothing
    server.default = OUTAGE
    crashed = start_process(tmp_path, "dead", 50, options={"max_retries": 100_000})
    crashed.answer()
    crashed.kill()
    server.end_outage()

    pid = os.fork()
    if pid == 0:  # gunicorn --preload: the worker's client is the master's, reset
        code = 1
        try:
            code = 0 if client.flush(timeout=20) == 50 else 3  # no call made in the child
            client.shutdown(timeout=10)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(m["messageId"] for m in server.messages) == sorted(f"dead-{n}" for n in range(50))
    assert client.flush(timeout=10) == 0  # the parent never had them
