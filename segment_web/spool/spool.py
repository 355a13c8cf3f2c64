"""A client's own spool (``Spool``) and the spools it adopts from dead processes (``Orphan``)."""

from __future__ import annotations

import contextlib
import errno
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
    check_directory,
    new_owner,
    segment_numbers,
    segment_path,
    tenant_owners,
)
from segment_web.spool.records import Position, offset_of, position, segment_of
from segment_web.spool.writer import SegmentWriter, Syncer

# records.encode, bound here: append runs once per message, on the caller's thread.
_pack_header = records.HEADER.pack
_crc32 = zlib.crc32

logger = logging.getLogger("segment_web")


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` already; the record was not written."""


class SpoolLost(OSError):
    """The spool's files were deleted under it (its directory removed, say): what they
    held is gone from the disk. The store starts a new spool and writes again what it
    still holds."""


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
    ``tenant`` (``files.tenant_of``) names whose messages these are: only a spool of the
    same tenant is ever adopted. Raises ``OSError`` when the directory cannot be used
    (``files.UnsafeSpool`` when it is another user's or writable by others).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        tenant: str,
        max_bytes: int,
        fsync_interval: float,
        segment_bytes: int | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        self.tenant = tenant
        self.max_bytes = max_bytes
        self.fsync_interval = fsync_interval
        self.segment_bytes = segment_bytes
        check_directory(self.directory)
        self.owner = new_owner(tenant)
        self._lock = threading.Lock()
        self.lost = False  # the files were found deleted (see SpoolLost)
        self._owner_lock = OwnerLock.create(self.directory, self.owner)
        try:
            self._ack = AckFile.create(self.directory, self.owner)
            self._writer = SegmentWriter(
                self.directory,
                self.owner,
                segment_bytes=segment_bytes or segment_size_for(max_bytes),
            )
        except BaseException:
            self._owner_lock.remove()
            raise
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
            try:
                where = writer.write(record)
            except OSError as error:
                if self._files_gone():
                    self.lost = True
                    raise SpoolLost(errno.ENOENT, "the spool's files were deleted") from error
                raise
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
        """Everything up to ``where`` is delivered (or reported): never send it again.

        Segments it finishes are deleted even when the acknowledgement cannot be written
        (a full disk): a later process then starts at the next segment that is left.
        """
        try:
            with self._lock:
                if where <= self.acknowledged:
                    return
                self.acknowledged = where
                writer = self._writer
                done = segment_of(where)
                if done in writer.finished and offset_of(where) >= writer.finished[done]:
                    done += 1  # its last record is delivered and no more are coming
                self._delivered += writer.forget_finished(done)
                self._ack.write(where)
        finally:
            if self._syncer is None:
                self.delete_delivered()

    def _files_gone(self) -> bool:
        try:
            return not os.path.isdir(self.directory) or self._writer.unlinked()
        except OSError:
            return True

    def check(self) -> bool:
        """Whether the spool's files were found deleted (now, or by the syncer thread)."""
        if not self.lost:
            with self._lock:
                self.lost = self._files_gone()
        return self.lost

    def _housekeeping(self) -> None:
        self.check()
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

    def abandon(self) -> None:
        """Its files were deleted (``lost``): stop and close, removing nothing."""
        if self._syncer is not None:
            self._syncer.stop()
        with self._lock:
            self._delivered = []
            for close in (self._writer.close, self._ack.close, self._owner_lock.release):
                with contextlib.suppress(OSError):
                    close()

    def adopt_orphans(self) -> list[Orphan]:
        """Take over the spools in the directory whose owners are dead, oldest first.

        Each is locked by this process while it drains it, so no other process takes
        it too; should this one die meanwhile, the next survivor takes over from the
        last acknowledged position.
        """
        adopted: list[Orphan] = []
        try:
            for owner in tenant_owners(self.directory, self.tenant):
                if owner != self.owner:
                    orphan = _adopt(self.directory, owner)
                    if orphan is not None:
                        adopted.append(orphan)
        except BaseException:
            for orphan in adopted:
                orphan.release()
            raise
        return adopted


_refused: set[str] = set()  # spools already logged as unusable: logged once only


def _adopt(directory: str, owner: str) -> Orphan | None:
    """One owner's spool if it is an orphan this process can take; any error with its
    files (an odd entry, a planted link) passes over this owner only."""
    lock = None
    try:
        lock = OwnerLock.adopt(directory, owner)
        if lock is None:
            return None
        return Orphan(directory, owner, lock)
    except OSError as error:
        if lock is not None:
            lock.release()  # left for a process that can read it
        if owner not in _refused:
            _refused.add(owner)
            logger.error("segment_web: cannot take over the spool %s: %s", owner, error)
        return None


class Orphan:
    """The spool of a dead process, locked by this one while it sends what is left."""

    def __init__(self, directory: str, owner: str, lock: OwnerLock) -> None:
        self.directory = directory
        self.owner = owner
        self._lock = lock
        self._ack = AckFile.take_over(directory, owner)
        try:
            self.segments = segment_numbers(directory, owner)
        except BaseException:
            self._ack.close()
            raise
        start = self._ack.start
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
