"""Client lifetime: dropped clients are collected and their threads end; shutdown racing
calls; flush_all_clients(); locks of the module reset in a forked child."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref

import pytest

from segment_web import Analytics, ClientClosedError, MessageDropped, signals
from segment_web.core import capture
from segment_web.process import registry as lifecycle
from tests.support.client_helpers import MakeClient, RecordSignal, wait_until
from tests.support.forking import wait_child
from tests.support.recording_server import RecordingServer, Reply


def test_dropped_clients_are_collected_and_their_threads_end(server: RecordingServer) -> None:
    threads: list[threading.Thread] = []
    collected: list[weakref.ref[Analytics]] = []
    for n in range(3):
        client = Analytics(f"key-{n}", host=server.url, flush_at=100)
        client.track(user_id="u", event="Before Drop")  # the first goes at once
        client.track(user_id="u", event="Still Queued")
        thread = client._pipeline.delivery_thread
        assert thread is not None and thread.is_alive()
        threads.append(thread)
        collected.append(weakref.ref(client))
        del client
    gc.collect()
    assert [ref() for ref in collected] == [None, None, None]
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    # what the dropped clients had queued was sent before their threads ended
    assert (
        sorted(m["event"] for m in server.wait_for(6)) == ["Before Drop"] * 3 + ["Still Queued"] * 3
    )


def test_calls_racing_shutdown_never_restart_the_delivery_thread(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    dropped = record_signal(signals.message_dropped)
    client = make_client(flushed=False, flush_at=50)
    accepted: list[str] = []
    rejected: list[int] = []
    start = threading.Barrier(9, timeout=10)

    def caller(worker: int) -> None:
        start.wait()
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                accepted.append(
                    client.track(user_id=f"w{worker}", event="Race", properties={"n": n})
                )
            except ClientClosedError:
                rejected.append(worker)
                return

    callers = [threading.Thread(target=caller, args=(w,)) for w in range(8)]
    for thread in callers:
        thread.start()
    start.wait()
    wait_until(lambda: len(accepted) >= 200, 10, "calls under way")
    client.shutdown(timeout=10)
    thread = client._pipeline.delivery_thread
    for caller_thread in callers:
        caller_thread.join(timeout=30)
    assert not any(caller_thread.is_alive() for caller_thread in callers)
    assert sorted(rejected) == list(range(8))  # every caller met the closed client
    assert client._pipeline.delivery_thread is thread  # none started after the join
    assert thread is None or not thread.is_alive()
    delivered = {m["messageId"] for m in server.messages}
    given_up = {kwargs["message_id"] for _, kwargs in dropped.sends}
    assert delivered | given_up == set(accepted)  # each accepted message sent or reported
    assert not delivered & given_up


def test_flush_all_clients_flushes_every_live_client_within_its_timeout(
    make_client: MakeClient, server: RecordingServer
) -> None:
    first = make_client("key-a")
    second = make_client("key-b")
    for n in range(3):
        first.track(user_id="u", event=f"A{n}")
        second.track(user_id="u", event=f"B{n}")
    assert lifecycle.flush_all_clients(timeout=10) >= 6  # other tests' clients may add theirs
    assert {r.body["writeKey"] for r in server.accepted} == {"key-a", "key-b"}
    assert len(server.messages) == 6


def test_flush_all_clients_returns_in_time_against_a_hung_server(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.default = Reply(delay=30.0)
    client = make_client()
    client.track(user_id="u", event="Hung")
    start = time.monotonic()
    lifecycle.flush_all_clients(timeout=0.5)
    assert time.monotonic() - start < 3.0
    wait_until(lambda: client.queued == 0, 10, "the message made due and taken")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_can_capture_though_a_parent_thread_held_the_capture_lock() -> None:
    holding = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with capture._lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert holding.wait(10)
    try:
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code only
            code = 1
            try:
                sink = lambda client, message: None  # noqa: E731
                capture.add_sink(sink)  # would wait forever on the parent's held lock
                capture.remove_sink(sink)
                code = 0
            finally:
                os._exit(code)
        assert wait_child(pid) == 0
    finally:
        release.set()
        holder.join(timeout=10)


def test_messages_of_a_client_shut_down_by_the_exit_hook_are_reported(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    # The exit hook itself is tested in a real interpreter exit (test_exit.py); this is
    # the callback side: what it gives up reaches the callbacks.
    server.default = Reply(delay=30.0)
    client = make_client(flushed=False, timeout=60)
    client.track(user_id="u", event="In Flight")
    server.wait_arrived(1, timeout=5)
    errors: list[Exception | None] = []
    client.track(user_id="u", event="Queued", callback=lambda error, batch: errors.append(error))
    client._pipeline.shutdown(0.2, lifecycle.EXIT_DROP_REASON)
    wait_until(lambda: bool(errors), 5, "the callback")
    assert isinstance(errors[0], MessageDropped)
    assert "exited" in str(errors[0])
