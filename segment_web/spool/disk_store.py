"""``SpoolStore``: the message store of a client with a ``spool_dir`` (the contract is in
``segment_web.store``).

Every accepted message is written to the client's own spool before ``append`` returns.
Up to ``max_size`` pending messages are also kept in memory, so a batch of them is sent
without reading anything back; beyond that, messages wait on disk only and are read
back in order, a batch at a time. The store also takes over the spools of dead
processes it finds when it opens (and, in a forked child, when the child starts): their
messages come first, oldest spool first. Every ``SCOUT_INTERVAL`` seconds the spool's
syncer thread looks for spools of processes that died since and counts them, outside
the client's lock; ``recover()`` then adds them after the messages pending.

Acknowledgements arrive in any order (several batches are in flight at once). The
spool's delivered position on disk moves forward only up to the oldest batch not yet
acknowledged: one acknowledged early is remembered in memory and settles once every
batch taken before it is acknowledged. After a crash the next process sends again what
lies beyond that position: the batches that were in flight, at most ``max_in_flight``
of them, since no batch is taken while that many are unsettled (``unsettled``). Whole
segment files are deleted once delivered.

When the disk refuses a message (full, read-only, gone) the message is kept in memory
only: logged once until the disk works again, and queued in ``unspooled`` for the
client to report. When the spool's files are found deleted (the directory removed while
the app runs: checked at each segment's end, by the syncer thread and before each
batch), the store starts a new spool, in the directory made again, and writes there
every message it still holds (those in flight included), each reported in
``unspooled`` too.

Records read back from disk are untrusted: batches of them are marked ``check`` for
the pipeline to verify each before it joins a request body.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from segment_web.spool.cursor import Cursor
from segment_web.spool.files import pid_of
from segment_web.spool.records import HEADER, Position, offset_of, position, segment_of
from segment_web.spool.spool import Orphan, Spool, SpoolFull, SpoolLost
from segment_web.store import TakenBatch, queue_full, take_batch

logger = logging.getLogger("segment_web")

SPOOL_FULL: Final = "spool full"
SCOUT_INTERVAL = 10.0  # seconds between looks for spools of processes that died since
_NOT_ON_DISK: Final = -1


class _MemoryRun:
    """Consecutive messages held in memory (the store bounds them all together), with
    where each ends in the spool."""

    __slots__ = ("ends", "payloads")

    def __init__(self) -> None:
        self.payloads: deque[bytes] = deque()
        self.ends: deque[Position] = deque()


class _DiskRun:
    """Consecutive messages read back from disk: this client's own beyond the memory
    bound (``orphan`` None, read up to ``limit``), or what is left of a dead process's
    spool. ``size`` counts their bytes plus one each."""

    __slots__ = ("count", "cursor", "limit", "orphan", "size", "spool")

    def __init__(
        self,
        cursor: Cursor,
        orphan: Orphan | None = None,
        count: int = 0,
        size: int = 0,
        spool: Spool | None = None,
    ) -> None:
        self.cursor = cursor
        self.orphan = orphan
        self.spool = spool  # whose own messages these are (None: an orphan's)
        self.limit: Position | None = None if orphan else cursor.position
        self.count = count
        self.size = size


_Run = _MemoryRun | _DiskRun


class _Receipt:
    """What acknowledging one taken batch moves forward."""

    __slots__ = ("done", "finished", "orphan", "orphan_end", "own", "payloads")

    def __init__(self) -> None:
        self.own: Position = _NOT_ON_DISK
        self.payloads: list[bytes] = []  # the batch, written again if the spool is lost
        self.orphan: Orphan | None = None
        self.orphan_end: Position | None = None
        self.finished = False  # the orphan's last message is in this batch
        self.done = False


class SpoolStore:
    """Messages on disk in ``spool``, the first ``max_size`` pending also in memory."""

    def __init__(self, spool: Spool, *, max_size: int) -> None:
        self.spool: Spool | None = spool  # None: a forked child could not open its own
        self.directory = spool.directory
        self.max_size = max_size
        self.memory_refusal = queue_full(max_size)
        self.unspooled: deque[tuple[bytes, OSError]] = deque()  # for the client to report
        self._found: deque[tuple[Orphan, int, int]] = deque()  # adopted, not yet recovered
        self._reset()
        self._adopt()

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        tenant: str,
        max_size: int,
        max_bytes: int,
        fsync: float,
    ) -> SpoolStore:
        """A store on a new spool in ``directory``; raises ``OSError`` when unusable."""
        spool = Spool(directory, tenant=tenant, max_bytes=max_bytes, fsync_interval=fsync)
        return cls(spool, max_size=max_size)

    def _reset(self) -> None:
        self._runs: deque[_Run] = deque()
        self._tail: _MemoryRun | None = None  # the last run, when it is held in memory
        self._count = 0
        self._in_memory = 0
        self.pending_bytes = 0
        self._receipts: deque[_Receipt] = deque()
        self._orphans: list[Orphan] = []
        self._disk_failing = False
        self._wake: Callable[[], None] | None = None  # see watch()

    def _adopt(self) -> None:
        """Take over the spools of dead processes now (at start, and in a forked child)."""
        for orphan, count, size in self._adoptable():
            self._add_orphan(orphan, count, size)
        if self.spool is not None:
            self._next_scout = time.monotonic() + SCOUT_INTERVAL
            self.spool.periodic = self._scout

    def _adoptable(self) -> list[tuple[Orphan, int, int]]:
        """Lock the spools of dead processes and count their messages (and bytes)."""
        if self.spool is None:
            return []
        try:
            orphans = self.spool.adopt_orphans()
        except OSError as error:
            logger.error("segment_web: could not look for spools to take over: %s", error)
            return []
        adoptable = []
        for orphan in orphans:
            try:
                count, size = orphan.count()
                if not count:
                    orphan.remove()
                    continue
            except OSError as error:
                logger.error("segment_web: could not read the spool %s: %s", orphan.owner, error)
                with contextlib.suppress(OSError):
                    orphan.release()
                continue
            logger.info(
                "segment_web: taking over %d message(s) left in %s by process %s",
                count,
                orphan.directory,
                pid_of(orphan.owner),
            )
            adoptable.append((orphan, count, size))
        return adoptable

    def _add_orphan(self, orphan: Orphan, count: int, size: int) -> None:
        self._orphans.append(orphan)
        self._runs.append(_DiskRun(orphan.cursor, orphan, count, size))
        self._tail = None
        self._count += count
        self.pending_bytes += size

    def _scout(self) -> None:
        """On the spool's syncer thread, outside the client's lock: now and then, take
        over the spools of processes that died since; ``recover()`` hands them over.
        Until it has, the pipeline is woken on every pass (a client that had no call
        yet has no delivery thread to call it)."""
        now = time.monotonic()
        if now >= self._next_scout:
            self._next_scout = now + SCOUT_INTERVAL
            self._found.extend(self._adoptable())
        wake = self._wake
        if self._found and wake is not None:
            wake()

    def watch(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def recover(self) -> int:
        if self.spool is not None and self.spool.check():
            self._replace_lost_spool(self.spool)
        gained = 0
        while self._found:
            orphan, count, size = self._found.popleft()
            self._add_orphan(orphan, count, size)
            gained += count
        return gained

    def __len__(self) -> int:
        return self._count

    @property
    def unsettled(self) -> int:
        return len(self._receipts)

    def append(self, payload: bytes) -> str | None:
        spool = self.spool
        if spool is not None and spool.lost:  # found by the syncer thread
            spool = self._replace_lost_spool(spool)
        try:
            if spool is None:
                raise OSError(f"no spool could be opened in {self.directory}")
            try:
                end = spool.append(payload)
            except SpoolLost:
                spool = self._replace_lost_spool(spool)
                if spool is None:
                    raise
                end = spool.append(payload)
        except SpoolFull:
            return SPOOL_FULL
        except OSError as error:
            return self._append_unspooled(payload, error)
        if self._disk_failing:
            self._disk_failing = False
            logger.warning("segment_web: the spool is writable again: %s", self.directory)
        self._count += 1
        self.pending_bytes += len(payload) + 1
        tail = self._tail
        if self._in_memory < self.max_size:
            if tail is None:
                tail = self._new_memory_run()
            tail.payloads.append(payload)
            tail.ends.append(end)
            self._in_memory += 1
        else:
            self._append_on_disk_only(spool, payload, end)
        return None

    def _new_memory_run(self) -> _MemoryRun:
        run = _MemoryRun()
        self._runs.append(run)
        self._tail = run
        return run

    def _append_on_disk_only(self, spool: Spool, payload: bytes, end: Position) -> None:
        runs = self._runs
        tail = runs[-1] if runs else None
        if not isinstance(tail, _DiskRun) or tail.spool is not spool:
            start = position(segment_of(end), offset_of(end) - HEADER.size - len(payload))
            tail = _DiskRun(spool.cursor(start), spool=spool)
            runs.append(tail)
            self._tail = None
        tail.limit = end
        tail.count += 1
        tail.size += len(payload) + 1

    def _append_unspooled(self, payload: bytes, error: OSError) -> str | None:
        """The disk refused ``payload``: keep it in memory only, if there is room."""
        if self._in_memory >= self.max_size:
            return self.memory_refusal
        self._disk_failed(error)
        self.unspooled.append((payload, error))
        tail = self._tail or self._new_memory_run()
        tail.payloads.append(payload)
        tail.ends.append(_NOT_ON_DISK)
        self._in_memory += 1
        self._count += 1
        self.pending_bytes += len(payload) + 1
        return None

    def _replace_lost_spool(self, lost: Spool) -> Spool | None:
        """The spool's files were deleted: start a new spool (making the directory again)
        and write there what this store still holds, in flight first, in order."""
        lost.abandon()
        self.spool = None
        error = SpoolLost(
            errno.ENOENT,
            "the spool's files were deleted while in use; the message was written again "
            "to a new spool",
            self.directory,
        )
        try:
            spool = Spool(
                self.directory,
                tenant=lost.tenant,
                max_bytes=lost.max_bytes,
                fsync_interval=lost.fsync_interval,
                segment_bytes=lost.segment_bytes,
            )
        except OSError as failure:
            spool = None
            error = SpoolLost(
                errno.ENOENT,
                f"the spool's files were deleted while in use, and no new spool could be "
                f"made ({failure}): the message is kept in memory only",
                self.directory,
            )
        lost_on_disk = 0
        rewritten = 0
        for receipt in self._receipts:
            if receipt.own == _NOT_ON_DISK or receipt.orphan is not None:
                continue
            receipt.own = _NOT_ON_DISK
            if not receipt.done:
                for payload in receipt.payloads:
                    receipt.own = max(receipt.own, self._rewrite(spool, payload, error))
                    rewritten += 1
        for run in self._runs:
            if isinstance(run, _MemoryRun):
                for n, payload in enumerate(run.payloads):
                    run.ends[n] = self._rewrite(spool, payload, error)
                    rewritten += 1
            elif run.spool is lost:
                lost_on_disk += run.count
        logger.error(
            "segment_web: the spool's files in %s were deleted while in use: %s "
            "%d message(s) held in memory%s",
            self.directory,
            "made a new spool there and wrote again the"
            if spool is not None
            else "could not make a new spool, keeping in memory only the",
            rewritten,
            f"; {lost_on_disk} waiting on disk only are lost" if lost_on_disk else "",
        )
        self.spool = spool
        if spool is not None:
            spool.periodic = self._scout
        return spool

    def _rewrite(self, spool: Spool | None, payload: bytes, error: OSError) -> Position:
        """Write ``payload`` again, reported as ``error``; where it ends, or not on disk."""
        self.unspooled.append((payload, error))
        if spool is None:
            return _NOT_ON_DISK
        try:
            return spool.append(payload)
        except (SpoolFull, OSError):
            return _NOT_ON_DISK

    def _disk_failed(self, error: OSError) -> None:
        if not self._disk_failing:
            self._disk_failing = True
            logger.error(
                "segment_web: cannot write to the spool in %s (%s): messages are kept in "
                "memory only until it works again",
                self.directory,
                error,
            )

    def take(self, max_count: int, max_bytes: int) -> TakenBatch:
        receipt = _Receipt()
        payloads: list[bytes] = []
        checked = False
        runs = self._runs
        while runs and not payloads:  # a batch comes from one run; a spent run is skipped
            run = runs[0]
            if isinstance(run, _MemoryRun):
                payloads = self._take_from_memory(run, max_count, max_bytes, receipt)
            else:
                found = self._read(run.cursor, run.limit, min(max_count, run.count), max_bytes)
                payloads = [payload for payload, _ in found]
                checked = True
                run.count -= len(found)
                run.size -= sum(len(payload) + 1 for payload in payloads)
                end = found[-1][1] if found else None
                if run.orphan is not None:
                    receipt.orphan, receipt.orphan_end = run.orphan, end
                elif end is not None:
                    receipt.own = end
                    receipt.payloads = payloads
                if not run.count or not found:
                    self._end_run(run, receipt)
                    runs.popleft()
        self.pending_bytes -= sum(len(payload) + 1 for payload in payloads)
        self._count -= len(payloads)
        self._receipts.append(receipt)
        return TakenBatch(payloads, receipt, check=checked)

    def _take_from_memory(
        self, run: _MemoryRun, max_count: int, max_bytes: int, receipt: _Receipt
    ) -> list[bytes]:
        payloads, _ = take_batch(run.payloads, max_count, max_bytes)
        ends = run.ends
        receipt.own = max([ends.popleft() for _ in payloads])  # positions grow; -1: not on disk
        receipt.payloads = payloads
        self._in_memory -= len(payloads)
        if not run.payloads:
            self._runs.popleft()
            if self._tail is run:
                self._tail = None
        return payloads

    def _read(
        self, cursor: Cursor, limit: Position | None, count: int, max_bytes: int
    ) -> list[tuple[bytes, Position]]:
        try:
            return cursor.read(limit=limit, max_records=count, max_bytes=max_bytes)
        except OSError as error:
            logger.error("segment_web: cannot read the spool in %s: %s", cursor.directory, error)
            return []

    def _end_run(self, run: _DiskRun, receipt: _Receipt) -> None:
        if run.count:
            # Damaged or unreadable records (logged where found): they cannot be sent.
            logger.error(
                "segment_web: %d message(s) in the spool %s could not be read",
                run.count,
                run.cursor.owner,
            )
            self._count -= run.count
            self.pending_bytes -= run.size
        if run.orphan is None:
            run.cursor.close()
        else:
            receipt.finished = True

    def acknowledge(self, batch: TakenBatch) -> None:
        receipt = batch.token
        assert isinstance(receipt, _Receipt)
        receipt.done = True
        receipts = self._receipts
        while receipts and receipts[0].done:
            self._settle(receipts.popleft())

    def _settle(self, receipt: _Receipt) -> None:
        try:
            if receipt.own != _NOT_ON_DISK and self.spool is not None:
                self.spool.acknowledge(receipt.own)
            orphan = receipt.orphan
            if orphan is not None:
                if receipt.orphan_end is not None:
                    orphan.acknowledge(receipt.orphan_end)
                if receipt.finished:
                    self._orphans.remove(orphan)
                    orphan.remove()
        except OSError as error:
            # Delivered all the same: at worst a later process sends it again.
            logger.error("segment_web: cannot record delivery in the spool: %s", error)

    def drain(self) -> list[bytes]:
        """Give up only what is in memory alone; the rest stays on disk for a later process."""
        given_up = [
            payload
            for run in self._runs
            if type(run) is _MemoryRun
            for payload, end in zip(run.payloads, run.ends, strict=True)
            if end == _NOT_ON_DISK
        ]
        kept = self._count - len(given_up)
        if kept:
            logger.warning(
                "segment_web: %d undelivered message(s) stay in the spool in %s for the next "
                "process to send",
                kept,
                self.directory,
            )
        for run in self._runs:
            if isinstance(run, _DiskRun) and run.orphan is None:
                run.cursor.close()
        self._runs.clear()
        self._tail = None
        self._count = self._in_memory = self.pending_bytes = 0
        return given_up

    def close(self) -> None:
        try:
            if self.spool is not None:
                self.spool.close()  # first: it stops the syncer thread, which scouts
            for orphan in [*self._orphans, *(found for found, _, _ in self._found)]:
                orphan.release()
        except OSError as error:
            logger.error("segment_web: cannot close the spool in %s: %s", self.directory, error)

    def reset_after_fork(self) -> None:
        """The parent keeps its spool and the spools it took over; the child starts its own
        and takes over any spool of a dead process the parent did not."""
        for run in self._runs:
            if isinstance(run, _DiskRun) and run.orphan is None:
                run.cursor.close()
        for orphan in [*self._orphans, *(found for found, _, _ in self._found)]:
            orphan.forget()
        self._found = deque()
        parent, self.spool = self.spool, None
        self._reset()
        if parent is None:
            return
        parent.forget()
        try:
            self.spool = Spool(
                self.directory,
                tenant=parent.tenant,
                max_bytes=parent.max_bytes,
                fsync_interval=parent.fsync_interval,
                segment_bytes=parent.segment_bytes,
            )
        except OSError as error:
            self._disk_failed(error)
            return
        self._adopt()


def open_spool_store(
    directory: str | os.PathLike[str],
    tenant: str,
    max_size: int,
    max_bytes: int,
    fsync_interval: float,
) -> SpoolStore | None:
    """The store of a client with a ``spool_dir``; None (logged) when the directory
    cannot be used, and the client keeps its messages in memory only."""
    try:
        return SpoolStore.open(
            directory, tenant=tenant, max_size=max_size, max_bytes=max_bytes, fsync=fsync_interval
        )
    except OSError as error:
        logger.error(
            "segment_web: spool_dir %s cannot be used (%s): messages are kept in memory only",
            os.fspath(directory),
            error,
        )
        return None
