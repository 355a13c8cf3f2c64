"""Several batches in flight at once (issue 22): flush, callbacks, the shared backoff
gate, the blocking mode of a full queue, a bounded shutdown. Real HTTP to a recording
server whose answers are delayed per POST without holding other connections."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import pytest

from segment_web import Analytics, MessageDropped
from tests.support.client_helpers import Callbacks, MakeClient, wait_until
from tests.support.recording_server import RecordingServer, Reply


def test_flush_waits_for_every_batch_in_flight_and_callbacks_fire_exactly_once(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # Answers come back in another order than their requests went out.
    server.cycle(Reply(delay=0.3), Reply(delay=0.02), Reply(delay=0.15), Reply(delay=0.05))
    client = make_client(flushed=False, flush_at=10, max_batch_size=10, max_in_flight=4)
    callback = Callbacks()
    ids = [client.track(user_id="u", event=f"E{n}", callback=callback) for n in range(200)]
    assert client.flush(timeout=30) == 200  # every message, counted once
    assert sorted(m["messageId"] for m in server.messages) == sorted(ids)
    assert len(callback.calls) == 200 and all(error is None for error, _ in callback.calls)
    fired = Counter(id_ for _, batch in callback.calls for id_ in batch.message_ids)
    assert set(fired) == set(ids)  # each callback fired with its own batch
    # POSTs overlapped: a second connection is opened only while another is busy
    assert len({request.peer for request in server.requests}) > 1
    assert client._pipeline.in_flight == 0
    assert client.flush(timeout=5) == 0  # nothing left to count


def test_batches_grow_under_a_backlog_and_go_at_flush_at_without_one(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=True, flush_at=5, max_in_flight=1)
    server.reply(Reply(delay=10.0))  # holds the first batch while a backlog builds
    for n in range(5):
        client.track(user_id="u", event=f"E{n}")
    server.wait_arrived(1, timeout=5)
    for n in range(5, 205):
        client.track(user_id="u", event=f"E{n}")
    server.release()
    assert client.flush(timeout=30) == 205
    sizes = [len(batch) for batch in server.batches]
    assert sizes[0] == 5  # no backlog: sent at flush_at
    assert max(sizes[1:]) > 5  # a backlog: the next batch took more (up to 500)
    assert all(size <= 500 for size in sizes)


def test_a_429_with_retry_after_holds_every_sender_until_then(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(flushed=False, flush_at=5, max_batch_size=5, max_in_flight=4)
    # Warm up several senders: while the first message is held, a backlog builds.
    server.reply(Reply(delay=0.3))
    client.track(user_id="u", event="Warm")
    server.wait_arrived(1, timeout=5)
    for n in range(40):
        client.track(user_id="u", event=f"W{n}")
    assert client.flush(timeout=30) == 41
    assert client._pipeline.senders >= 2  # several senders, idle now

    server.reply(Reply(status=429, headers={"Retry-After": "2"}))
    with caplog.at_level(logging.DEBUG, logger="segment_web"):
        for n in range(5):  # one batch: it is answered 429
            client.track(user_id="u", event=f"A{n}")
        wait_until(lambda: "retry 1 in" in caplog.text, 10, "the client to read the 429")
    before = len(server.requests)
    limited = next(r for r in server.requests if r.status == 429)
    for n in range(20):  # four more batches, for the idle senders
        client.track(user_id="u", event=f"B{n}")
    assert client.flush(timeout=30) == 25
    later = server.requests[before:]
    assert len(later) >= 5  # the retried batch and the four new ones
    # The gate was set after the 429 arrived, to 2 s after then: no POST went earlier.
    assert all(request.sent_at >= limited.sent_at + 2.0 for request in later)


def test_a_run_of_5xx_is_retried_per_batch_and_each_message_reported_once(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(
        flushed=False, flush_at=5, max_batch_size=5, max_in_flight=4, max_retries=10
    )
    server.reply(*[Reply(status=503) for _ in range(6)])
    callback = Callbacks()
    ids = [client.track(user_id="u", event=f"E{n}", callback=callback) for n in range(30)]
    assert client.flush(timeout=30) == 30
    assert [error for error, _ in callback.calls] == [None] * 30
    assert sorted(m["messageId"] for m in server.messages) == sorted(ids)
    assert client._transport.gate.failures == 0  # the run ended with a success


def _full_queue_in_block_mode(
    make_client: MakeClient, server: RecordingServer, block_timeout: float
) -> Analytics:
    """A client in block mode whose one sender holds a batch the server answers late,
    with its queue (max_queue_size=2) full behind it."""
    client = make_client(
        flushed=False,
        flush_at=1,
        max_queue_size=2,
        max_in_flight=1,
        on_queue_full="block",
        block_timeout=block_timeout,
    )
    client.track(user_id="u", event="In flight")
    server.wait_arrived(1, timeout=5)
    client.track(user_id="u", event="Q1")
    client.track(user_id="u", event="Q2")
    assert client.queued == 2
    return client


def test_block_mode_waits_up_to_block_timeout_then_drops_and_reports(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.default = Reply(delay=30.0)  # the one sender stays busy: the queue stays full
    client = _full_queue_in_block_mode(make_client, server, block_timeout=0.5)
    callback = Callbacks()
    start = time.monotonic()
    client.track(user_id="u", event="Too many", callback=callback)
    waited = time.monotonic() - start
    assert 0.5 <= waited < 10  # it waited for block_timeout, and no longer than sane
    [(error, _)] = callback.calls
    assert isinstance(error, MessageDropped) and "max_queue_size=2" in str(error)
    assert client.queued == 2


def test_block_mode_lets_the_caller_in_once_a_batch_makes_room(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=30.0))  # held until released
    client = _full_queue_in_block_mode(make_client, server, block_timeout=60)
    callback = Callbacks()
    caller = threading.Thread(
        target=lambda: client.track(user_id="u", event="Waits", callback=callback)
    )
    caller.start()
    wait_until(lambda: client._pipeline._blocked == 1, 10, "the caller to block")
    server.release()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert client.flush(timeout=30) == 4
    assert [error for error, _ in callback.calls] == [None]
    assert sorted(m["event"] for m in server.messages) == ["In flight", "Q1", "Q2", "Waits"]


def test_drop_mode_is_the_default_and_a_callback_never_blocks_in_block_mode(
    make_client: MakeClient, server: RecordingServer
) -> None:
    assert make_client().on_queue_full == "drop"
    client = make_client(
        flushed=False, flush_at=1, max_queue_size=1, on_queue_full="block", block_timeout=60
    )
    outcome: list[Exception | None] = []

    def track_more(error: Exception | None, batch: object) -> None:
        # on a sender thread: waiting for room there would wait for itself
        for n in range(5):
            client.track(
                user_id="u", event=f"From callback {n}", callback=lambda e, b: outcome.append(e)
            )

    server.default = Reply(delay=0.2)
    start = time.monotonic()
    client.track(user_id="u", event="First", callback=track_more)
    wait_until(lambda: len(outcome) == 5, 20, "the callback's messages to be reported")
    assert time.monotonic() - start < 20
    assert any(isinstance(error, MessageDropped) for error in outcome)


def test_shutdown_is_bounded_with_batches_in_flight(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = Reply(delay=30.0)  # nothing is answered before the shutdown
    client = make_client(flushed=False, flush_at=5, max_batch_size=5, max_in_flight=4)
    client.track(user_id="u", event="First")
    server.wait_arrived(1, timeout=5)
    for n in range(40):
        client.track(user_id="u", event=f"E{n}")
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        client.shutdown(timeout=1.0)
    assert time.monotonic() - start < 5  # 1 s and a moment, generously
    assert client.closed
    assert "not known delivered" in caplog.text or "dropped" in caplog.text
