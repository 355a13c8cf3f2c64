"""Reading one owner's records back, in order, from a position onwards."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from segment_web.spool import records
from segment_web.spool.files import open_owned, segment_path
from segment_web.spool.records import Position, offset_of, position, segment_of

logger = logging.getLogger("segment_web")

WINDOW = 1 << 20  # bytes read at a time: more than a full 500 KB batch


class Cursor:
    """Reads the records after ``start`` across the owner's segments.

    ``next_segment(number)`` names the segment that follows ``number`` (None: none yet).
    Damage (torn or corrupt records) is logged, counted in ``damaged_bytes`` and skipped.
    """

    def __init__(
        self,
        directory: str,
        owner: str,
        start: Position,
        next_segment: Callable[[int], int | None],
    ) -> None:
        self.directory = directory
        self.owner = owner
        self.position = start
        self.next_segment = next_segment
        self.damaged_bytes = 0
        self.quiet = False  # count damage without logging it
        self._fd = -1
        self._fd_segment = -1

    def read(
        self, *, limit: Position | None, max_records: int, max_bytes: int
    ) -> list[tuple[bytes, Position]]:
        """Up to ``max_records`` records (and ``max_bytes``, see ``records.parse``).

        ``limit``: read no further than this position (the writer's end of a live
        spool); None reads to the end of the last segment.
        """
        found: list[tuple[bytes, Position]] = []
        while len(found) < max_records:
            if limit is not None and self.position >= limit:
                break
            number, offset = segment_of(self.position), offset_of(self.position)
            fd = self._open(number)
            if fd < 0:
                if not self._advance(number):
                    break
                continue
            end = offset_of(limit) if limit is not None and segment_of(limit) == number else None
            if end is None:
                end = os.fstat(fd).st_size
            if offset >= end:
                if not self._advance(number):
                    break
                continue
            parsed = self._parse(fd, number, offset, end, max_records - len(found), max_bytes)
            found.extend((payload, position(number, at)) for payload, at in parsed.records)
            self.position = position(number, parsed.consumed)
            if parsed.records:
                max_bytes -= sum(len(payload) + 1 for payload, _ in parsed.records)
                if max_bytes <= 0 or parsed.consumed < end:
                    break  # a full batch
        return found

    def _parse(
        self, fd: int, number: int, offset: int, end: int, max_records: int, max_bytes: int
    ) -> records.Parsed:
        window = WINDOW
        while True:
            size = min(end - offset, window)
            data = os.pread(fd, size, offset)
            at_end = offset + len(data) >= end
            parsed = records.parse(
                data, offset, at_end=at_end, max_records=max_records, max_bytes=max_bytes
            )
            for where, length in parsed.damaged:
                self.damaged_bytes += length
                if self.quiet:
                    continue
                logger.error(
                    "segment_web: spool file %s is damaged: %d byte(s) at offset %d skipped "
                    "(a torn write or a bad block); the intact records around them are kept",
                    segment_path(self.directory, self.owner, number),
                    length,
                    where,
                )
            if parsed.records or parsed.damaged or at_end:
                parsed.consumed += offset
                return parsed
            window *= 2  # one record longer than the window

    def _open(self, number: int) -> int:
        if self._fd_segment != number:
            self.close()
            path = segment_path(self.directory, self.owner, number)
            try:
                self._fd = open_owned(path)
            except FileNotFoundError:
                return -1
            except OSError as error:  # not a file of ours (a link, another user's): skipped
                if not self.quiet:
                    logger.error("segment_web: spool file %s skipped: %s", path, error)
                return -1
            self._fd_segment = number
        return self._fd

    def _advance(self, number: int) -> bool:
        following = self.next_segment(number)
        if following is None:
            return False
        self.close()
        self.position = position(following, 0)
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        self._fd_segment = -1
