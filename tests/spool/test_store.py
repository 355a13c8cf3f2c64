"""SpoolStore on real files: the message-store contract, plus what the disk adds."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from segment_web.spool import Spool
from segment_web.spool.disk_store import SPOOL_FULL, SpoolStore
from segment_web.spool.files import segment_path
from segment_web.store import TakenBatch

MakeStore = Callable[..., SpoolStore]


def message(n: int, size: int = 10) -> bytes:
    return f'{{"n":{n},"pad":"{"x" * size}"}}'.encode()


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    stores: list[SpoolStore] = []

    def make(max_size: int = 100, directory: Path = tmp_path, **spool: int | float) -> SpoolStore:
        spool.setdefault("max_bytes", 1 << 30)
        spool.setdefault("fsync_interval", 1.0)
        store = SpoolStore(Spool(directory, tenant="tenant0", **spool), max_size=max_size)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def take_all(store: SpoolStore, max_count: int = 7) -> tuple[list[bytes], list[TakenBatch]]:
    payloads: list[bytes] = []
    batches = []
    for _ in range(10_000):
        if not store:
            break
        batch = store.take(max_count, 500_000)
        assert batch.payloads, "take() returned nothing while messages were pending"
        batches.append(batch)
        payloads.extend(batch.payloads)
    return payloads, batches


def test_beyond_max_size_messages_wait_on_disk_and_leave_in_arrival_order(
    make_store: MakeStore,
) -> None:
    store = make_store(max_size=5)
    first = [message(n) for n in range(20)]
    for payload in first:
        assert store.append(payload) is None
    assert len(store) == 20
    assert store.pending_bytes == sum(len(p) + 1 for p in first)
    head = store.take(3, 500_000)  # memory has room again: new messages go there
    more = [message(n) for n in range(20, 24)]
    for payload in more:
        assert store.append(payload) is None
    payloads, _ = take_all(store)
    assert head.payloads + payloads == first + more
    assert len(store) == 0 and store.pending_bytes == 0


def test_a_batch_from_disk_keeps_to_max_bytes(make_store: MakeStore) -> None:
    store = make_store(max_size=1)
    payloads = [message(n, size=90) for n in range(6)]
    for payload in payloads:
        store.append(payload)
    assert store.take(100, 10_000).payloads == payloads[:1]  # the one in memory
    each = len(payloads[1]) + 1
    assert store.take(100, 3 * each - 1).payloads == payloads[1:3]
    assert store.take(100, each).payloads == payloads[3:4]


def test_acknowledged_messages_are_not_recovered_and_the_rest_are_first_and_in_order(
    make_store: MakeStore, tmp_path: Path
) -> None:
    store = make_store(max_size=10, segment_bytes=4096)
    payloads = [message(n, size=100) for n in range(100)]
    for payload in payloads:
        store.append(payload)
    first, second, third = (store.take(10, 500_000) for _ in range(3))
    store.acknowledge(second)  # early: waits for the first
    store.acknowledge(first)
    # the third batch is in flight when the process goes away; 70 pending stay on disk
    assert store.drain() == []
    store.close()

    recovered = make_store(max_size=10)
    assert len(recovered) == 80
    got, batches = take_all(recovered, max_count=25)
    assert got == third.payloads + payloads[30:]
    for batch in batches:
        recovered.acknowledge(batch)
    recovered.close()
    assert sorted(os.listdir(tmp_path)) == [
        name
        for name in sorted(os.listdir(tmp_path))
        if name.startswith(recovered.spool.owner)  # type: ignore[union-attr]
    ]


def test_acknowledgements_out_of_order_settle_on_disk_only_up_to_the_oldest_unacknowledged(
    make_store: MakeStore,
) -> None:
    store = make_store(max_size=100)
    payloads = [message(n) for n in range(40)]
    for payload in payloads:
        store.append(payload)
    batches = [store.take(10, 500_000) for _ in range(4)]
    assert store.unsettled == 4
    store.acknowledge(batches[3])
    store.acknowledge(batches[1])
    assert store.unsettled == 4  # remembered in memory: the first is still out
    store.acknowledge(batches[0])
    assert store.unsettled == 2  # the first two settle; the fourth waits for the third
    store.close()  # a crash now: the third and fourth (acknowledged) are on disk still

    recovered = make_store(max_size=100)
    got, _ = take_all(recovered, max_count=100)
    assert got == batches[2].payloads + batches[3].payloads


def test_a_spool_with_everything_acknowledged_leaves_no_files(
    make_store: MakeStore, tmp_path: Path
) -> None:
    store = make_store(max_size=3, segment_bytes=4096)
    for n in range(200):
        store.append(message(n, size=50))
    _, batches = take_all(store)
    for batch in reversed(batches):
        store.acknowledge(batch)
    store.close()
    assert os.listdir(tmp_path) == []


def test_beyond_max_bytes_messages_are_refused_as_spool_full(make_store: MakeStore) -> None:
    store = make_store(max_size=10, max_bytes=64 * 1024)
    results = [store.append(message(n, size=500)) for n in range(200)]
    kept = results.index(SPOOL_FULL)
    assert kept > 100 and set(results[kept:]) == {SPOOL_FULL}
    assert len(store) == kept
    _, batches = take_all(store, max_count=50)
    for batch in batches:
        store.acknowledge(batch)
    assert store.append(message(1000)) is None  # delivered files made room


def test_a_link_planted_at_the_next_segment_is_never_written_through_memory_takes_over(
    make_store: MakeStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(max_size=5, directory=tmp_path / "spool", segment_bytes=4096)
    assert store.spool is not None
    # The next (predictable) segment name is a link to a file elsewhere.
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    os.symlink(victim, segment_path(str(tmp_path / "spool"), store.spool.owner, 1))
    written = [message(n, size=1000) for n in range(3)]  # all fit in segment 0
    failed = [message(n, size=1000) for n in range(3, 8)]
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        assert [store.append(payload) for payload in written] == [None] * 3
        results = [store.append(payload) for payload in failed]
    # two more fit in memory (max_size=5); past that, memory's own bound refuses them
    assert results[:2] == [None, None]
    assert all(r is not None and "max_queue_size=5" in r for r in results[2:])
    assert [payload for payload, _ in store.unspooled] == failed[:2]
    assert all(error.errno == errno.EEXIST for _, error in store.unspooled)
    assert victim.read_bytes() == b"precious"
    assert len([r for r in caplog.records if "cannot write to the spool" in r.message]) == 1
    assert "a file this client did not make is in the way" in caplog.text
    got, _ = take_all(store)
    assert got == written + failed[:2]


def test_drain_gives_up_only_what_is_not_on_disk(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(max_size=50, segment_bytes=4096)
    assert store.spool is not None
    store.append(message(1, size=5000))  # alone in segment 0; segment 1 cannot be made
    os.mkdir(segment_path(str(tmp_path), store.spool.owner, 1))
    store.append(message(2))
    assert store.drain() == [message(2)]
    assert len(store) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_after_fork_the_child_has_a_spool_of_its_own(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store()
    store.append(message(1))
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            store.reset_after_fork()
            ok = len(store) == 0 and store.append(message(2)) is None
            batch = store.take(10, 500_000)
            store.drain()
            store.close()  # message 2 was never acknowledged: left for adoption
            code = 0 if ok and batch.payloads == [message(2)] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.take(10, 500_000).payloads == [message(1)]  # the parent's own
    adopter = make_store()
    assert take_all(adopter)[0] == [message(2)]  # the child's, left behind
