"""The files of one spool owner (a live client, or a dead one's leftovers) in a directory.

- ``<owner>.lock``: held with ``flock`` for as long as the owner lives. The kernel
  releases it when the process dies however it dies, which is how a dead owner is told
  from a live one (a pid can be reused; a lock cannot outlive its process).
- ``<owner>.ack``: how far the owner's records were delivered (segment and offset).
- ``<owner>.<number>.seg``: the records, numbered in writing order.

Owner names are ``<pid>-<random>``: unique per client and readable in a listing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import struct
import zlib

from segment_web.spool.records import Position
from segment_web.spool.syscalls import pwrite

LOCK_SUFFIX = ".lock"
ACK_SUFFIX = ".ack"
SEGMENT_SUFFIX = ".seg"
_ACK = struct.Struct("<QI")  # position, CRC-32 of the position's bytes


def new_owner() -> str:
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def segment_path(directory: str, owner: str, number: int) -> str:
    return os.path.join(directory, f"{owner}.{number:010d}{SEGMENT_SUFFIX}")


def segment_numbers(directory: str, owner: str) -> list[int]:
    """The numbers of the owner's segment files, in writing order."""
    prefix = owner + "."
    numbers = []
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(SEGMENT_SUFFIX):
            number = name[len(prefix) : -len(SEGMENT_SUFFIX)]
            if number.isdigit():
                numbers.append(int(number))
    return sorted(numbers)


def lock_owners(directory: str) -> list[str]:
    """Owners that have a lock file in ``directory``, oldest file first."""
    found = []
    for entry in os.scandir(directory):
        if entry.name.endswith(LOCK_SUFFIX):
            # one removed meanwhile was finished with by whoever held it
            with contextlib.suppress(FileNotFoundError):
                found.append((entry.stat().st_mtime, entry.name[: -len(LOCK_SUFFIX)]))
    return [owner for _, owner in sorted(found)]


class OwnerLock:
    """An ``flock`` held on ``<owner>.lock``: while it is held, the owner's files are ours."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def create(cls, directory: str, owner: str) -> OwnerLock:
        """Lock a new owner's file. Locked under a temporary name, then renamed: no
        other process can ever find the lock file unlocked and take it for a dead one."""
        path = os.path.join(directory, owner + LOCK_SUFFIX)
        temporary = path + ".new"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(temporary, path)
        except BaseException:
            os.close(fd)
            _remove(temporary)
            raise
        return cls(path, fd)

    @classmethod
    def adopt(cls, directory: str, owner: str) -> OwnerLock | None:
        """Lock a dead owner's file; None when its owner lives or someone else took it."""
        path = os.path.join(directory, owner + LOCK_SUFFIX)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Whoever held it may have finished with the files and removed this lock
            # file before we got it: then it is no longer the owner's lock.
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return None
            raise
        return cls(path, fd)

    def remove(self) -> None:
        """Delete the lock file, then let go of it (the owner's other files go first)."""
        _remove(self.path)
        os.close(self.fd)

    def release(self) -> None:
        """Let go, leaving the files for a later process to adopt."""
        os.close(self.fd)

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking, so the
        lock stays the parent's (an ``flock`` is shared by both copies of the descriptor)."""
        os.close(self.fd)


class AckFile:
    """``<owner>.ack``: the position up to which the owner's records were delivered."""

    def __init__(self, directory: str, owner: str) -> None:
        self.path = os.path.join(directory, owner + ACK_SUFFIX)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def read(self) -> Position | None:
        """The position written last; None when never written or unreadable."""
        data = os.pread(self.fd, _ACK.size, 0)
        if len(data) < _ACK.size:
            return None
        where, crc = _ACK.unpack(data)
        return where if zlib.crc32(data[:8]) == crc else None

    def write(self, where: Position) -> None:
        # One small write at offset 0: it replaces the previous value whole.
        packed = where.to_bytes(8, "little")
        pwrite(self.fd, packed + zlib.crc32(packed).to_bytes(4, "little"), 0)

    def remove(self) -> None:
        _remove(self.path)
        os.close(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
