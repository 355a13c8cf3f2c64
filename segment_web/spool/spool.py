"""A client's own spool (``Spool``) and the spools it adopts from dead processes (``Orphan``)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zlib
from collections.abc import Callable

from segment_web.spool import records
from segment_web.spool.cursor import Cursor
from segment_web.spool.files import (
    AckFile,
    OwnerLock,
    lock_owners,
    new_owner,
    segment_numbers,
    segment_path,
)
from segment_web.spool.records import Position, offset_of, position, segment_of
from segment_web.spool.writer import SegmentWriter, Syncer

# records.encode, bound here: append runs once per message, on the caller's thread.
_pack_header = records.HEADER.pack
_crc32 = zlib.crc32

logger = logging.getLogger("segment_web")


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` already; the record was not written."""


def segment_size_for(max_bytes: int) -> int:
    """Segments small enough that delivered ones free space well before the bound, and
    that, while delivery keeps up, most are deleted before the next fsync would write
    them to the disk (only the segment being written is synced with delivered records)."""
    return max(64 * 1024, min(max_bytes // 16, 1024 * 1024))


class Spool:
    """The records of one live client in ``directory``, under a lock of its own.

    ``append`` writes a record with one ``write`` call (a killed process loses nothing
    written); ``fsync_interval`` bounds what a machine crash can lose (0: fsync every
    record, on the caller's thread). ``acknowledge(position)`` records that everything
    up to ``position`` is done with, and deletes segments that hold nothing else.
    Raises ``OSError`` when the directory cannot be used.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int,
        fsync_interval: float,
        segment_bytes: int | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        self.max_bytes = max_bytes
        self.fsync_interval = fsync_interval
        os.makedirs(self.directory, exist_ok=True)
        self.owner = new_owner()
        self._lock = threading.Lock()
        self._owner_lock = OwnerLock.create(self.directory, self.owner)
        self._ack = AckFile(self.directory, self.owner)
        self._writer = SegmentWriter(
            self.directory,
            self.owner,
            segment_bytes=segment_bytes or segment_size_for(max_bytes),
        )
        self._delivered: list[int] = []  # segments to delete
        # Run by the syncer thread after each sync (outside any lock of the client's).
        self.periodic: Callable[[], None] | None = None
        self.acknowledged: Position = 0
        self._syncer = (
            Syncer(fsync_interval, self._lock, self._writer, self._housekeeping)
            if fsync_interval > 0
            else None
        )

    @property
    def end(self) -> Position:
        """The position after the last record written."""
        return self._writer.end

    def append(self, payload: bytes) -> Position:
        """Write one record; returns the position after it.

        Raises ``SpoolFull`` past ``max_bytes`` and ``OSError`` when the disk refuses.
        """
        size = len(payload)
        record = _pack_header(records.MARKER, size, _crc32(payload, size)) + payload
        with self._lock:
            writer = self._writer
            if writer.finished_bytes + writer.offset + len(record) > self.max_bytes:
                raise SpoolFull(self.max_bytes)
            where = writer.write(record)
            syncer = self._syncer
            if syncer is not None:
                syncer.dirty = True
            else:
                os.fsync(writer.fd)
                for fd in writer.retired.values():
                    os.close(fd)
                writer.retired = {}
            return where

    def cursor(self, start: Position) -> Cursor:
        """A reader of this spool's records after ``start`` (read it up to ``end``)."""
        return Cursor(self.directory, self.owner, start, self._next_segment)

    def _next_segment(self, number: int) -> int | None:
        return number + 1 if number < self._writer.number else None

    def acknowledge(self, where: Position) -> None:
        """Everything up to ``where`` is delivered (or reported): never send it again."""
        with self._lock:
            if where <= self.acknowledged:
                return
            self.acknowledged = where
            self._ack.write(where)
            writer = self._writer
            done = segment_of(where)
            if done in writer.finished and offset_of(where) >= writer.finished[done]:
                done += 1  # its last record is delivered and no more are coming
            self._delivered += writer.forget_finished(done)
        if self._syncer is None:
            self.delete_delivered()

    def _housekeeping(self) -> None:
        self.delete_delivered()
        if self.periodic is not None:
            self.periodic()

    def delete_delivered(self) -> None:
        """Delete the segment files ``acknowledge`` found delivered. The syncer thread does
        it when there is one: acknowledging runs under the client's lock, which callers
        of ``track()`` wait for, and deleting a large file can take a while."""
        with self._lock:
            numbers, self._delivered = self._delivered, []
        for number in numbers:
            _unlink(segment_path(self.directory, self.owner, number))

    @property
    def bytes_used(self) -> int:
        """Bytes of the records in segment files not yet deleted."""
        return self._writer.finished_bytes + self._writer.offset

    @property
    def empty(self) -> bool:
        """Every record written was acknowledged."""
        return self.acknowledged >= self._writer.end or self.bytes_used == 0

    def close(self) -> None:
        """Sync and close. An empty spool's files are removed; otherwise they stay, and
        the lock goes with this process, so a later process adopts what is left."""
        if self._syncer is not None:
            self._syncer.stop()
        self.delete_delivered()
        with self._lock:
            self._writer.close()
            if self.empty:
                for number in [*self._writer.finished, self._writer.number]:
                    _unlink(segment_path(self.directory, self.owner, number))
                self._ack.remove()
                self._owner_lock.remove()
            else:
                os.fsync(self._ack.fd)
                self._ack.close()
                self._owner_lock.release()

    def forget(self) -> None:
        """In a forked child: close the parent's files, leaving them and their lock to it."""
        self._writer.close()
        self._ack.close()
        self._owner_lock.forget()

    def adopt_orphans(self) -> list[Orphan]:
        """Take over the spools in the directory whose owners are dead, oldest first.

        Each is locked by this process while it drains it, so no other process takes
        it too; should this one die meanwhile, the next survivor takes over from the
        last acknowledged position.
        """
        adopted = []
        for owner in lock_owners(self.directory):
            if owner == self.owner:
                continue
            lock = OwnerLock.adopt(self.directory, owner)
            if lock is None:
                continue
            try:
                adopted.append(Orphan(self.directory, owner, lock))
            except OSError as error:
                lock.release()  # left for a process that can read it
                logger.error("segment_web: cannot take over the spool %s: %s", owner, error)
        return adopted


class Orphan:
    """The spool of a dead process, locked by this one while it sends what is left."""

    def __init__(self, directory: str, owner: str, lock: OwnerLock) -> None:
        self.directory = directory
        self.owner = owner
        self._lock = lock
        self._ack = AckFile(directory, owner)
        self.segments = segment_numbers(directory, owner)
        start = self._ack.read()
        if start is None:
            start = position(self.segments[0], 0) if self.segments else 0
        self.acknowledged = start
        self.cursor = Cursor(directory, owner, start, self._next_segment)

    def _next_segment(self, number: int) -> int | None:
        return next((n for n in self.segments if n > number), None)

    def count(self) -> tuple[int, int]:
        """How many intact records are left to send, and their bytes plus one each
        (reads them all once, quietly: damage is logged when they are sent)."""
        counter = Cursor(self.directory, self.owner, self.cursor.position, self._next_segment)
        counter.quiet = True
        total = size = 0
        try:
            while batch := counter.read(limit=None, max_records=10_000, max_bytes=1 << 30):
                total += len(batch)
                size += sum(len(payload) + 1 for payload, _ in batch)
        finally:
            counter.close()
        return total, size

    def read(self, *, max_records: int, max_bytes: int) -> list[tuple[bytes, Position]]:
        return self.cursor.read(limit=None, max_records=max_records, max_bytes=max_bytes)

    def acknowledge(self, where: Position) -> None:
        if where > self.acknowledged:
            self.acknowledged = where
            self._ack.write(where)

    def remove(self) -> None:
        """Everything was sent: delete the files, the lock file last, and let go."""
        self.cursor.close()
        for number in self.segments:
            _unlink(segment_path(self.directory, self.owner, number))
        self._ack.remove()
        self._lock.remove()

    def release(self) -> None:
        """Stop before the end: leave what is left for a later process."""
        self.cursor.close()
        self._ack.close()
        self._lock.release()

    def forget(self) -> None:
        """In a forked child: the parent keeps draining it."""
        self.cursor.close()
        self._ack.close()
        self._lock.forget()


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
