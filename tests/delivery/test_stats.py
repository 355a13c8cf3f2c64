"""``Analytics.stats()``: the counters against real deliveries to the recording server."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from segment_web import Analytics
from segment_web.delivery.stats import LATENCY_BUCKETS, reason_key
from tests.support.client_helpers import MakeClient, wait_until
from tests.support.recording_server import RecordingServer, Reply


def test_a_new_client_counts_nothing(make_client: MakeClient) -> None:
    stats = make_client(max_queue_size=7).stats()
    assert (stats.accepted, stats.delivered, stats.retried, stats.failed_batches) == (0, 0, 0, 0)
    assert stats.dropped == {}
    assert (stats.queue_depth, stats.queue_capacity, stats.batches_in_flight) == (0, 7, 0)
    assert stats.spool_bytes is None and stats.spool_files is None
    assert stats.last_success is None and stats.last_failure is None
    assert sum(stats.latency_counts) == 0
    assert len(stats.latency_counts) == len(LATENCY_BUCKETS) + 1


def test_accepted_queued_and_delivered(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client()
    for n in range(5):
        client.track(user_id="u", event=f"e{n}")
    before = client.stats()
    assert (before.accepted, before.queue_depth, before.delivered) == (5, 5, 0)
    started = time.time()
    assert client.flush() == 5
    after = client.stats()
    assert (after.accepted, after.queue_depth, after.delivered) == (5, 0, 5)
    assert after.delivered_batches == len(server.requests) == 1
    assert after.last_success is not None and after.last_success >= started
    assert after.failing_since is None and after.failing_for() == 0.0
    assert sum(after.latency_counts) == 1 and after.latency_sum > 0
    json.dumps(after.as_dict())  # the health views serve it as it is


def test_drops_are_counted_by_reason_without_details(make_client: MakeClient) -> None:
    client = make_client(max_queue_size=2, before_send=lambda m: None if m["event"] == "x" else m)
    for event in ("a", "b", "c", "d", "x"):
        client.track(user_id="u", event=event)
    assert client.stats().dropped == {"queue full": 2, "before_send": 1}
    assert client.stats().accepted == 2


def test_retries_and_final_failure(make_client: MakeClient, server: RecordingServer) -> None:
    server.reply(Reply(status=500), Reply(status=503), Reply(status=500))
    errors: list[Exception] = []
    client = make_client(max_retries=2, error_handler=errors.append)
    client.track(user_id="u", event="e")
    client.track(user_id="u", event="f")
    started = time.time()
    client.flush()
    stats = client.stats()
    assert len(errors) == 1
    assert (stats.retried, stats.failed_batches, stats.failed, stats.delivered) == (2, 1, 2, 0)
    assert stats.failures == {"500": 2}
    assert stats.last_failure is not None and stats.last_success is None
    assert stats.failing_since is not None and stats.failing_since >= started
    # the next success ends the failing period
    client.track(user_id="u", event="g")
    client.flush()
    healed = client.stats()
    assert healed.failing_since is None and healed.delivered == 1
    assert healed.latency_counts != stats.latency_counts


def test_a_batch_in_flight_is_counted(make_client: MakeClient, server: RecordingServer) -> None:
    server.reply(Reply(delay=30.0))  # held until the test lets it go
    client = make_client(flush_at=1)
    client.track(user_id="u", event="e")
    wait_until(lambda: server.arrived == 1, what="the POST to arrive")
    assert client.stats().batches_in_flight == 1
    server.release()
    client.flush()
    assert client.stats().batches_in_flight == 0


def test_spool_usage(make_client: MakeClient, tmp_path: os.PathLike[str]) -> None:
    client = make_client(spool_dir=tmp_path)
    client.track(user_id="u", event="e" * 1000)
    stats = client.stats()
    assert stats.spool_files is not None and stats.spool_files >= 1
    assert stats.spool_bytes is not None and stats.spool_bytes > 1000


def test_counters_are_consistent_under_concurrent_calls(make_client: MakeClient) -> None:
    client = make_client(flush_at=10, flush_interval=0.05)
    threads = [
        threading.Thread(target=lambda: [client.track(user_id="u", event="e") for _ in range(200)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    seen: list[tuple[int, int]] = []
    while any(t.is_alive() for t in threads) and len(seen) < 10_000:
        s = client.stats()
        seen.append((s.accepted, s.delivered))
    for thread in threads:
        thread.join(10)
    client.flush()
    assert all(delivered <= accepted for accepted, delivered in seen)
    assert (client.stats().accepted, client.stats().delivered) == (800, 800)


def test_disabled_client_reports_it(server: RecordingServer) -> None:
    client = Analytics("k", host=server.url, enable=False)
    try:
        client.track(user_id="u", event="e")
        client.flush()
        stats = client.stats()
        assert not stats.enabled and stats.delivered == 1 and server.requests == []
    finally:
        client.shutdown()


@pytest.mark.parametrize(
    ("reason", "key"),
    [("queue full (max_queue_size=5)", "queue full"), ("spool full", "spool full")],
)
def test_reason_key(reason: str, key: str) -> None:
    assert reason_key(reason) == key


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_counts_its_own(make_client: MakeClient, server: RecordingServer) -> None:
    from tests.support.forking import wait_child

    client = make_client(max_queue_size=3)
    for _ in range(4):
        client.track(user_id="parent", event="P")
    assert (client.stats().accepted, client.stats().dropped) == (3, {"queue full": 1})
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            before = client.stats()
            client.track(user_id="child", event="C")
            client.flush(timeout=10)
            after = client.stats()
            fresh = (before.accepted, before.dropped, before.queue_depth) == (0, {}, 0)
            code = 0 if fresh and (after.accepted, after.delivered) == (1, 1) else 3
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    assert client.flush(timeout=10) == 3
    assert (client.stats().accepted, client.stats().delivered) == (3, 3)
