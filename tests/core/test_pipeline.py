"""The batching rules of the pipeline, checked directly: first message, flush_at,
max_batch_size, bytes, interval, flush targets, shutdown.

The pipeline runs its real delivery thread and store; only the HTTP step is replaced by
a deliverer that records each batch and can hold one until released.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from segment_web.core.pipeline import Pipeline
from segment_web.delivery.entry import Entry
from segment_web.delivery.reporting import Reporter
from segment_web.store import MemoryStore
from tests.support.client_helpers import wait_until


class Owner:
    """Stands for the client the pipeline reports for (held weakly by the reporter)."""


class RecordingDeliverer:
    def __init__(self, owner: Owner) -> None:
        self.reporter = Reporter(owner, None)
        self.abort = threading.Event()
        self.open = threading.Event()  # cleared: the next batch waits in deliver()
        self.open.set()
        self.batches: list[list[bytes]] = []
        self.times: list[float] = []
        self._lock = threading.Lock()

    def deliver(self, entries: list[Entry]) -> Exception | None:
        self.open.wait(10)
        with self._lock:
            self.batches.append([payload for payload, _ in entries])
            self.times.append(time.monotonic())
        return None

    def sizes(self) -> list[int]:
        with self._lock:
            return [len(batch) for batch in self.batches]

    def wait_batches(self, count: int) -> list[int]:
        wait_until(lambda: len(self.sizes()) >= count, 10, f"{count} batches")
        return self.sizes()

    def close(self) -> None:
        pass  # no connection of its own

    def reset_after_fork(self) -> None:
        pass


@pytest.fixture
def owner() -> Owner:
    return Owner()


@pytest.fixture
def deliverer(owner: Owner) -> RecordingDeliverer:
    return RecordingDeliverer(owner)


@pytest.fixture
def make_pipeline(deliverer: RecordingDeliverer) -> Iterator[Any]:
    made: list[Pipeline] = []

    def make(*, first: bool = False, **options: Any) -> Pipeline:
        settings: dict[str, Any] = {
            "flush_at": 100,
            "max_batch_size": options.get("flush_at", 100),
            "flush_interval": 60.0,
            "max_batch_bytes": 500_000,
            "max_queue_size": 1000,
            "shutdown_timeout": 1.0,
        }
        settings.update(options)
        pipeline = Pipeline(MemoryStore(settings["max_queue_size"]), deliverer, **settings)
        pipeline.send_first = first
        made.append(pipeline)
        return pipeline

    yield make
    deliverer.open.set()
    for pipeline in made:
        pipeline.shutdown(2.0, "test over")


def message(n: int, size: int = 0) -> bytes:
    return f'{{"n":{n},"pad":"{"x" * size}"}}'.encode()


def hold_first_batch(pipeline: Pipeline, deliverer: RecordingDeliverer) -> None:
    """Send message 0 and hold its batch in delivery until ``deliverer.open`` is set."""
    deliverer.open.clear()
    pipeline.accept(message(0), None)
    wait_until(lambda: len(pipeline) == 0, 10, "the first message in flight")


def test_the_first_message_goes_at_once_and_alone(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    deliverer.open.clear()  # hold the first batch, so the others queue behind it
    pipeline = make_pipeline(first=True, flush_at=3)
    for n in range(3):
        pipeline.accept(message(n), None)
    wait_until(lambda: len(pipeline) == 2, 10, "the first message taken")
    deliverer.open.set()
    assert deliverer.wait_batches(1) == [1]
    assert pipeline.send_first is False


def test_a_batch_is_due_at_flush_at_and_takes_flush_at(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    pipeline = make_pipeline(flush_at=3)
    for n in range(7):
        pipeline.accept(message(n), None)
    assert deliverer.wait_batches(2) == [3, 3]
    assert len(pipeline) == 1  # one short of flush_at: it waits for the interval


@pytest.mark.parametrize(
    ("max_batch_size", "sizes"),
    [(5, [1, 5, 5]), (2, [1, 2, 2, 2, 2, 2])],  # by default (= flush_at) batching is unchanged
)
def test_under_a_backlog_a_batch_takes_up_to_max_batch_size(
    make_pipeline: Any, deliverer: RecordingDeliverer, max_batch_size: int, sizes: list[int]
) -> None:
    pipeline = make_pipeline(first=True, flush_at=2, max_batch_size=max_batch_size)
    hold_first_batch(pipeline, deliverer)
    for n in range(1, 12):  # a backlog builds while the first batch is held
        pipeline.accept(message(n), None)
    deliverer.open.set()
    assert deliverer.wait_batches(len(sizes)) == sizes
    assert len(pipeline) == 1


def test_a_batch_is_due_when_its_bytes_fill_a_body_and_keeps_to_them(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    size = len(message(0, 90)) + 1
    pipeline = make_pipeline(flush_at=100, max_batch_bytes=3 * size + size // 2)
    for n in range(3):
        pipeline.accept(message(n, 90), None)
    assert pipeline.store.pending_bytes == 3 * size  # below the limit: not due yet
    pipeline.accept(message(3, 90), None)  # now over it
    assert deliverer.wait_batches(1) == [3]
    assert len(pipeline) == 1


def test_a_partial_batch_goes_after_flush_interval(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    pipeline = make_pipeline(flush_at=100, flush_interval=0.3)
    start = time.monotonic()
    pipeline.accept(message(0), None)
    pipeline.accept(message(1), None)
    assert deliverer.wait_batches(1) == [2]
    assert deliverer.times[0] - start >= 0.25


def test_a_flush_makes_what_was_accepted_before_it_due(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    pipeline = make_pipeline(flush_at=100)
    for n in range(5):
        pipeline.accept(message(n), None)
    assert pipeline.flush(10) == (5, None)
    assert deliverer.sizes() == [5]
    assert pipeline.flush(10) == (0, None)


def test_a_flush_counts_what_was_delivered_before_it_was_called(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    pipeline = make_pipeline(first=True, flush_at=100)
    pipeline.accept(message(0), None)
    deliverer.wait_batches(1)  # delivered before flush() is called
    wait_until(lambda: pipeline.in_flight == 0, 10, "the first batch completed")
    for n in range(1, 11):
        pipeline.accept(message(n), None)
    assert pipeline.flush(10) == (11, None)


def test_a_flush_does_not_count_messages_accepted_after_it_was_called(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    deliverer.open.clear()
    pipeline = make_pipeline(flush_at=100)
    for n in range(3):
        pipeline.accept(message(n), None)
    waiter = pipeline.request_flush()
    wait_until(lambda: len(pipeline) == 0, 10, "the flushed batch in flight")
    for n in range(3, 5):  # accepted after the flush call, delivered before it returns
        pipeline.accept(message(n), None)
    later = pipeline.request_flush()
    deliverer.open.set()
    assert pipeline.wait_flush(waiter, 10)
    assert pipeline.wait_flush(later, 10)
    assert pipeline.count_delivered(waiter) == 3
    assert pipeline.count_delivered(later) == 2


def test_shutdown_gives_up_what_is_pending_and_ends_the_thread(
    make_pipeline: Any, deliverer: RecordingDeliverer
) -> None:
    pipeline = make_pipeline(first=True, flush_at=100)
    hold_first_batch(pipeline, deliverer)
    pipeline.accept(message(1), None)
    thread = pipeline.delivery_thread
    assert thread is not None
    pipeline.shutdown(0.2, "test shutdown")
    assert len(pipeline) == 0
    deliverer.open.set()
    thread.join(10)
    assert not thread.is_alive()
    assert deliverer.sizes() == [1]
