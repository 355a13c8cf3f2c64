"""When batches go and what they hold: first message, flush_at, flush_interval, 500 KB."""

from __future__ import annotations

import os
import time

from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer, Reply

MAX_BODY = 500_000


def sizes(server: RecordingServer) -> list[int]:
    return [len(batch) for batch in server.batches]


def test_first_message_is_sent_at_once(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client(flushed=False, flush_at=100, flush_interval=60)
    client.track(user_id="u", event="First")
    server.wait_for(1, timeout=5)
    assert client.flushed is True
    client.track(user_id="u", event="Second")
    assert client.queued == 1  # the second waits for flush_at or the interval
    assert client.flush(timeout=10) == 2
    assert sizes(server) == [1, 1]


def test_flushed_true_gives_full_batches_then_the_rest_on_flush(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=True, flush_at=5, max_batch_size=5, max_in_flight=1)
    for n in range(12):
        client.track(user_id="u", event=f"E{n}")
    server.wait_for(10, timeout=5)
    assert client.queued == 2  # left for flush() or the interval, not sent
    assert sizes(server) == [5, 5]
    assert client.flush(timeout=10) == 12  # every message delivered since the client started
    assert sizes(server) == [5, 5, 2]
    assert [m["event"] for m in server.messages] == [f"E{n}" for n in range(12)]


def test_without_flushed_the_first_message_goes_alone(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flushed=False, flush_at=5, max_batch_size=5, max_in_flight=1)
    for n in range(12):
        client.track(user_id="u", event=f"E{n}")
    server.wait_for(11, timeout=5)
    assert client.queued == 1  # left for flush() or the interval, not sent
    assert sizes(server) == [1, 5, 5]
    assert client.flush(timeout=10) == 12  # every message delivered since the client started
    assert sizes(server) == [1, 5, 5, 1]


def test_flush_interval_sends_a_partial_batch(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flush_at=100, flush_interval=0.3)
    start = time.monotonic()
    for n in range(3):
        client.track(user_id="u", event=f"E{n}")
    server.wait_for(3, timeout=5)
    assert time.monotonic() - start >= 0.2
    assert sizes(server) == [3]


def test_a_burst_of_large_messages_never_makes_a_body_over_500_kb(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(flush_at=1000)
    ids = [
        client.track(user_id="u", event="Big", properties={"blob": os.urandom(10_000).hex()})
        for _ in range(300)
    ]
    client.flush(timeout=30)  # some batches went before: the byte limit made them due
    server.wait_for(300, timeout=10)
    assert all(len(request.data) <= MAX_BODY for request in server.requests)
    assert len(server.requests) > 1
    # several batches in flight at once: each batch keeps arrival order, batches may not
    delivered = [m["messageId"] for m in server.messages]
    assert sorted(delivered) == sorted(ids)
    for batch in server.batches:
        positions = [ids.index(m["messageId"]) for m in batch]
        assert positions == sorted(positions)


def test_clients_side_by_side_keep_their_own_batches(
    make_client: MakeClient, server: RecordingServer
) -> None:
    first = make_client("key-a", flush_at=3)
    second = make_client("key-b", flush_at=3)
    for n in range(5):
        first.track(user_id="u", event="from-a", properties={"n": n})
        second.track(user_id="u", event="from-b", properties={"n": n})
    first.flush(timeout=10)
    second.flush(timeout=10)
    server.wait_for(10, timeout=10)
    by_key: dict[str, list[str]] = {"key-a": [], "key-b": []}
    for request in server.accepted:
        events = {m["event"] for m in request.body["batch"]}
        assert len(events) == 1
        by_key[request.body["writeKey"]].extend(events)
    assert set(by_key["key-a"]) == {"from-a"}
    assert set(by_key["key-b"]) == {"from-b"}
    assert len(server.messages) == 10


def test_under_a_backlog_batches_carry_up_to_max_batch_size(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=10.0))  # holds the first batch while a backlog builds
    client = make_client(flushed=False, flush_at=2, max_batch_size=5, max_in_flight=1)
    client.track(user_id="u", event="E0")
    server.wait_arrived(1, timeout=5)
    for n in range(1, 12):
        client.track(user_id="u", event=f"E{n}")
    server.release()
    server.wait_for(11, timeout=10)
    assert sizes(server)[:3] == [1, 5, 5]
    assert client.flush(timeout=10) == 12
    assert [m["event"] for m in server.messages] == [f"E{n}" for n in range(12)]
