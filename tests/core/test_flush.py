"""flush(), aflush() and shutdown(): what they wait for, return, raise and report."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from segment_web import Analytics, ClientClosedError, DeliveryError, MessageDropped, signals
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal, wait_until
from tests.support.recording_server import RecordingServer, Reply


def test_flush_returns_the_number_delivered(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    for n in range(7):
        client.track(user_id="u", event=f"E{n}")
    assert client.flush() == 7
    assert len(server.messages) == 7
    assert client.flush() == 0


def test_flush_waits_for_the_batch_in_flight(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=0.5))
    client = make_client(flushed=False)
    client.track(user_id="u", event="E")
    server.wait_arrived(1, timeout=5)
    assert client.queued == 0  # taken: in flight, not queued
    start = time.monotonic()
    assert client.flush(timeout=10) == 1
    assert time.monotonic() - start >= 0.2
    assert len(server.messages) == 1


def test_flush_raises_the_delivery_error_without_error_handler(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=400))
    client = make_client()
    client.track(user_id="u", event="E")
    with pytest.raises(DeliveryError) as caught:
        client.flush(timeout=10)
    assert caught.value.status == 400


def test_flush_does_not_raise_with_an_error_handler(
    make_client: MakeClient, server: RecordingServer
) -> None:
    handled: list[Exception] = []
    server.reply(Reply(status=400))
    client = make_client(error_handler=handled.append)
    client.track(user_id="u", event="Lost")
    client.track(user_id="u", event="Also lost")
    assert client.flush(timeout=10) == 0
    assert len(handled) == 1 and isinstance(handled[0], DeliveryError)


def test_flush_with_timeout_returns_in_time_against_a_slow_server(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = Reply(delay=5.0)
    client = make_client()
    client.track(user_id="u", event="E")
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        assert client.flush(timeout=0.5) == 0
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 2.0
    assert "1 message(s) pending" in caplog.text


def end_the_delivery_thread(client: Analytics, server: RecordingServer) -> threading.Thread:
    """Send "First" with a callback that ends the delivery thread (a BaseException: only
    Exception is caught), queue "Second" and "Third" while it is in flight, and return
    the thread once it has ended with those two pending."""
    ended: list[threading.Thread] = []

    def fatal(error: Exception | None, batch: object) -> None:
        ended.append(threading.current_thread())
        raise SystemExit("callback ends the thread")

    server.reply(Reply(delay=0.3))
    client.track(user_id="u", event="First", callback=fatal)
    server.wait_arrived(1, timeout=5)
    client.track(user_id="u", event="Second")
    client.track(user_id="u", event="Third")
    wait_until(lambda: bool(ended), 5, "the fatal callback")
    ended[0].join(timeout=5)
    assert not ended[0].is_alive()
    return ended[0]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_flush_does_not_hang_when_the_delivery_thread_died(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=False)
    end_the_delivery_thread(client, server)
    start = time.monotonic()
    # "First" was delivered before its callback ended the thread
    assert client.flush(timeout=5) == 3
    assert time.monotonic() - start < 3
    assert [m["event"] for m in server.messages] == ["First", "Second", "Third"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_message_after_the_delivery_thread_died_starts_a_new_one(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # The next message accepted (not one that would wake the thread by itself: neither
    # the first pending nor a full batch) starts a new thread, which sends all that is
    # pending at its interval, with no flush() called.
    client = make_client(flushed=False, flush_interval=0.2)
    ended = end_the_delivery_thread(client, server)
    client.track(user_id="u", event="Fourth")
    wait_until(lambda: len(server.messages) == 4, 10, "the three later messages")
    assert [m["event"] for m in server.messages] == ["First", "Second", "Third", "Fourth"]
    assert client._pipeline.delivery_thread is not ended


def test_aflush_does_not_block_the_event_loop(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=0.4))
    client = make_client()
    for n in range(3):
        client.track(user_id="u", event=f"E{n}")

    async def main() -> tuple[int, int]:
        ticks = 0
        flushing = asyncio.ensure_future(client.aflush(timeout=10))
        while not flushing.done():
            ticks += 1
            await asyncio.sleep(0.01)
        return await flushing, ticks

    delivered, ticks = asyncio.run(main())
    assert delivered == 3
    assert ticks >= 5


def test_shutdown_flushes_then_rejects_calls(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    client.track(user_id="u", event="E")
    client.shutdown()
    assert len(server.messages) == 1
    for call, fields in [
        ("track", {"user_id": "u", "event": "E"}),
        ("identify", {"user_id": "u"}),
        ("page", {"user_id": "u"}),
        ("screen", {"user_id": "u"}),
        ("group", {"user_id": "u", "group_id": "g"}),
        ("alias", {"user_id": "u", "previous_id": "p"}),
    ]:
        with pytest.raises(ClientClosedError, match="shut down"):
            getattr(client, call)(**fields)
    client.shutdown()  # a second shutdown is harmless
    assert client.flush() == 0


def test_shutdown_does_not_raise_for_a_failed_batch(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=400))
    client = make_client()
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)
    client.shutdown(timeout=5)
    (error,) = callback.wait(1)
    assert isinstance(error, DeliveryError)


def test_messages_left_at_shutdown_are_reported_dropped(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    dropped = record_signal(signals.message_dropped)
    server.default = Reply(delay=10.0)
    client = make_client(flushed=False, timeout=30)
    callback = Callbacks()
    client.track(user_id="u", event="In flight")
    server.wait_arrived(1, timeout=5)
    ids = [client.track(user_id="u", event="Queued", callback=callback) for _ in range(3)]
    start = time.monotonic()
    client.shutdown(timeout=0.3)
    assert time.monotonic() - start < 3
    sends = dropped.wait(3)
    assert [kwargs["message_id"] for _, kwargs in sends] == ids
    assert all(sender is client for sender, _ in sends)
    assert all("shut down" in kwargs["reason"] for _, kwargs in sends)
    errors = callback.wait(3)
    assert all(isinstance(error, MessageDropped) for error in errors)


def test_flush_inside_a_callback_does_not_wait_for_itself(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    outcome: list[object] = []

    def flush_from_callback(error: Exception | None, batch: object) -> None:
        try:
            outcome.append(client.flush(timeout=None))
        except Exception as raised:
            outcome.append(raised)

    client.track(user_id="u", event="E", callback=flush_from_callback)
    assert client.flush(timeout=5) == 1
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "delivery thread" in str(outcome[0])


def test_a_raising_callback_does_not_stop_the_others(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(error: Exception | None, batch: object) -> None:
        raise ValueError("callback bug")

    client = make_client()
    callback = Callbacks()
    client.track(user_id="u", event="A", callback=broken)
    client.track(user_id="u", event="B", callback=callback)
    assert client.flush(timeout=5) == 2
    assert callback.wait(1) == [None]
    assert "callback bug" in caplog.text


def test_flush_counts_the_first_message_delivered_before_it_was_called(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=False, flush_at=100)
    first = Callbacks()
    client.track(user_id="u", event="E0", callback=first)
    assert first.wait(1) == [None]  # the immediate send is over before flush() is called
    for n in range(1, 11):
        client.track(user_id="u", event=f"E{n}")
    assert client.flush(timeout=10) == 11
    assert client.flush(timeout=10) == 0


def test_concurrent_flushes_count_each_delivered_message_once(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=0.3))
    client = make_client(flush_at=100)
    counts: list[int] = []
    for n in range(4):
        client.track(user_id="u", event=f"A{n}")
    early = threading.Thread(target=lambda: counts.append(client.flush(timeout=10)))
    early.start()
    server.wait_arrived(1, timeout=5)  # the first flush's batch is in flight
    for n in range(3):
        client.track(user_id="u", event=f"B{n}")
    counts.append(client.flush(timeout=10))
    early.join(timeout=10)
    assert not early.is_alive()
    assert sum(counts) == 7
    assert len(server.messages) == 7
