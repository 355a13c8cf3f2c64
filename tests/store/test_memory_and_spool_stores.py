"""The message-store contract, checked against every store implementation.

A new store (the on-disk spool, say) joins by adding a factory to ``STORES``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from segment_web.store import MemoryStore, MessageStore

StoreFactory = Callable[[int], MessageStore]

STORES: dict[str, StoreFactory] = {"memory": MemoryStore}


@pytest.fixture(params=sorted(STORES))
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    factory: StoreFactory = STORES[request.param]
    return factory


def message(n: int, size: int = 10) -> bytes:
    return f'{{"n":{n},"pad":"{"x" * size}"}}'.encode()


def test_messages_leave_in_arrival_order_in_batches_of_at_most_max_count(
    make_store: StoreFactory,
) -> None:
    store = make_store(100)
    payloads = [message(n) for n in range(7)]
    for payload in payloads:
        assert store.append(payload) is None
    assert len(store) == 7
    assert store.pending_bytes == sum(len(p) + 1 for p in payloads)
    first = store.take(3, 10_000)
    second = store.take(3, 10_000)
    third = store.take(3, 10_000)
    assert [first.payloads, second.payloads, third.payloads] == [
        payloads[:3],
        payloads[3:6],
        payloads[6:],
    ]
    assert len(store) == 0 and store.pending_bytes == 0
    for batch in (second, first, third):  # acknowledgements may come in any order
        store.acknowledge(batch)


def test_a_batch_keeps_to_max_bytes_counting_a_comma_per_message(
    make_store: StoreFactory,
) -> None:
    store = make_store(100)
    payloads = [message(n, size=90) for n in range(5)]
    for payload in payloads:
        store.append(payload)
    each = len(payloads[0]) + 1
    batch = store.take(100, 2 * each + each - 1)  # room for two, not three
    assert batch.payloads == payloads[:2]
    assert store.pending_bytes == 3 * each
    assert store.take(100, each).payloads == payloads[2:3]  # exactly one fits


def test_append_beyond_the_bound_is_refused_with_a_reason(make_store: StoreFactory) -> None:
    store = make_store(2)
    assert store.append(message(1)) is None
    assert store.append(message(2)) is None
    reason = store.append(message(3))
    assert reason is not None and "max_queue_size=2" in reason
    assert len(store) == 2
    store.take(1, 10_000)
    assert store.append(message(4)) is None  # a taken message makes room


def test_drain_gives_up_the_pending_messages(make_store: StoreFactory) -> None:
    store = make_store(10)
    payloads = [message(n) for n in range(4)]
    for payload in payloads:
        store.append(payload)
    store.take(1, 10_000)
    assert store.drain() == payloads[1:]
    assert len(store) == 0 and store.pending_bytes == 0
    store.close()


def test_after_fork_the_store_is_empty_and_takes_new_messages(make_store: StoreFactory) -> None:
    store = make_store(10)
    store.append(message(1))
    store.reset_after_fork()
    assert len(store) == 0 and store.pending_bytes == 0
    store.append(message(2))
    assert store.take(10, 10_000).payloads == [message(2)]
