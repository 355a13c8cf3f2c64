"""The bounded queue and concurrent callers: drops are reported, nothing blocks or repeats."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from segment_web import Batch, MessageDropped, signals
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer, Reply


def test_overflow_is_dropped_reported_and_never_blocks(
    make_client: MakeClient,
    server: RecordingServer,
    record_signal: RecordSignal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dropped = record_signal(signals.message_dropped)
    server.default = Reply(delay=10.0)
    client = make_client(flushed=False, flush_at=1, max_queue_size=5, timeout=30)
    client.track(user_id="u", event="In flight")
    server.wait_arrived(1, timeout=5)
    callback = Callbacks()
    slowest = 0.0
    ids = []
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        for n in range(20):
            start = time.monotonic()
            ids.append(client.track(user_id="u", event=f"E{n}", callback=callback))
            slowest = max(slowest, time.monotonic() - start)
    assert slowest < 0.5  # generous: a blocked caller would wait for the 10 s server
    assert client.queued == 5
    sends = dropped.wait(15)
    assert [kwargs["message_id"] for _, kwargs in sends] == ids[5:]
    assert all(sender is client for sender, _ in sends)
    assert all("max_queue_size=5" in kwargs["reason"] for _, kwargs in sends)
    assert sends[0][1]["message"]["event"] == "E5"
    errors = callback.wait(15)
    assert len(errors) == 15
    assert all(isinstance(error, MessageDropped) for error in errors)
    assert "dropped" in caplog.text and "max_queue_size" in caplog.text


def test_sixteen_threads_of_a_thousand_calls_arrive_exactly_once(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(
        flushed=False, flush_at=100, max_batch_size=100, max_in_flight=1, max_queue_size=20_000
    )
    start = threading.Barrier(16, timeout=10)
    failures: list[BaseException] = []

    def caller(worker: int) -> None:
        try:
            start.wait()
            for n in range(1000):
                client.track(user_id=f"w{worker}", event="Tick", properties={"n": n})
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=caller, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert not any(thread.is_alive() for thread in threads)
    client.flush(timeout=30)
    messages = server.wait_for(16_000, timeout=10)
    assert len(messages) == 16_000
    assert len({m["messageId"] for m in messages}) == 16_000
    assert all(len(batch) <= 100 for batch in server.batches)
    for worker in range(16):
        sent = [m["properties"]["n"] for m in messages if m["userId"] == f"w{worker}"]
        assert sent == list(range(1000))  # one sender: one caller's messages keep their order


def test_callbacks_of_some_messages_reach_exactly_those_messages(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flush_at=4)
    seen: dict[str, list[str]] = {}

    def remember(message_id: str) -> Callable[[Exception | None, Batch], None]:
        def callback(error: Exception | None, batch: Batch) -> None:
            assert error is None
            seen.setdefault(message_id, []).extend(batch.message_ids)

        return callback

    ids = []
    for n in range(11):
        message_id = f"m-{n}"
        ids.append(message_id)
        client.track(
            user_id="u",
            event=f"E{n}",
            message_id=message_id,
            callback=remember(message_id) if n % 3 == 0 else None,
        )
    assert client.flush(timeout=10) == 11
    assert sorted(seen) == ["m-0", "m-3", "m-6", "m-9"]
    for message_id, batch_ids in seen.items():
        assert batch_ids.count(message_id) == 1  # each fired once, with its own batch
    assert sorted(m["messageId"] for m in server.messages) == sorted(ids)
