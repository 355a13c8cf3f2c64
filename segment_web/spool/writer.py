"""Appending records to an owner's segment files, and the fsync policy."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable

from segment_web.spool.files import UnsafeSpool, create_file, segment_path
from segment_web.spool.records import Position, position

logger = logging.getLogger("segment_web")


_FLAGS = os.O_WRONLY | os.O_APPEND


def _create_segment(directory: str, owner: str, number: int) -> int:
    path = segment_path(directory, owner, number)
    try:
        return create_file(path, _FLAGS)
    except FileExistsError:
        # Names are unique per client: something else put this there (a link to a file
        # elsewhere, say). Never written through; messages stay in memory meanwhile.
        raise UnsafeSpool(
            errno.EEXIST, "a file this client did not make is in the way: not written", path
        ) from None


class SegmentWriter:
    """Writes records to ``<owner>.<number>.seg`` files, starting a new file past
    ``segment_bytes`` so that delivered files can be deleted whole.

    Not thread-safe: the spool calls it under its lock.
    """

    def __init__(self, directory: str, owner: str, *, segment_bytes: int) -> None:
        self.directory = directory
        self.owner = owner
        self.segment_bytes = segment_bytes
        self.number = 0
        self.offset = 0
        self.fd = _create_segment(directory, owner, 0)
        self.retired: dict[int, int] = {}  # finished segments not yet synced -> descriptor
        self.finished: dict[int, int] = {}  # finished segments not yet deleted -> their size
        self.finished_bytes = 0

    @property
    def end(self) -> Position:
        return position(self.number, self.offset)

    def write(self, record: bytes) -> Position:
        """Append one record with a single ``write``; returns the position after it.

        On an error the file may hold part of the record (a torn record, which readers
        skip); the next record starts after it.
        """
        size = len(record)
        offset = self.offset
        if offset and offset + size > self.segment_bytes:
            self._next_segment()
            offset = 0
        try:
            # os.write lets go of the GIL: a disk that stalls (writeback throttling, a
            # hung network volume) blocks this caller only, never the app's other threads
            written = os.write(self.fd, record)
        except OSError:
            self.offset = os.fstat(self.fd).st_size
            raise
        if written != size:  # only on a full disk, which a second try reports
            self.offset = os.fstat(self.fd).st_size
            raise OSError(errno.ENOSPC, "short write to the spool (disk full?)")
        self.offset = offset = offset + size
        return self.number << 32 | offset

    def _next_segment(self) -> None:
        fd = _create_segment(self.directory, self.owner, self.number + 1)
        self.retired[self.number] = self.fd
        self.finished[self.number] = self.offset
        self.finished_bytes += self.offset
        self.fd = fd
        self.number += 1
        self.offset = 0

    def unlinked(self) -> bool:
        """The file being written is no longer in the directory (it was deleted): what
        is written there is lost at the next crash."""
        return os.fstat(self.fd).st_nlink == 0

    def forget_finished(self, before: int) -> list[int]:
        """Drop finished segments numbered below ``before`` from the count; their numbers.

        Their descriptors are closed without an fsync: what they hold is delivered, and a
        file deleted before it is synced leaves the page cache without ever being written
        to the disk (while delivery keeps up, most records never are).
        """
        numbers = [number for number in self.finished if number < before]
        for number in numbers:
            self.finished_bytes -= self.finished.pop(number)
            fd = self.retired.pop(number, None)
            if fd is not None:
                os.close(fd)
        return numbers

    def close(self) -> None:
        for fd in [*self.retired.values(), self.fd]:
            os.close(fd)
        self.retired = {}


class Syncer:
    """Calls ``fsync`` on the spool's files at most every ``interval`` seconds, from a
    thread of its own, so that no caller ever waits for the disk; then ``housekeeping``."""

    def __init__(
        self,
        interval: float,
        lock: threading.Lock,
        writer: SegmentWriter,
        housekeeping: Callable[[], None],
    ) -> None:
        self.interval = interval
        self.lock = lock
        self.writer = writer
        self.housekeeping = housekeeping
        self.dirty = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="segment_web-spool-sync", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync()
            try:
                self.housekeeping()
            except OSError as error:  # a file it cannot delete must not end the thread
                logger.error("segment_web: spool housekeeping failed: %s", error)

    def sync(self) -> None:
        with self.lock:
            if not self.dirty and not self.writer.retired:
                return
            self.dirty = False
            current = os.dup(self.writer.fd)  # stays valid if the writer moves on meanwhile
            retired = list(self.writer.retired.values())
            self.writer.retired = {}
        try:
            for fd in [*retired, current]:
                # the write already succeeded; a failing disk shows at the next write
                with contextlib.suppress(OSError):
                    os.fsync(fd)
        finally:
            for fd in [*retired, current]:
                os.close(fd)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.sync()
