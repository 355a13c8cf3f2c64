"""The files of one spool owner (a live client, or a dead one's leftovers) in a directory.

- ``<owner>.lock``: held with ``flock`` for as long as the owner lives. The kernel
  releases it when the process dies however it dies, which is how a dead owner is told
  from a live one (a pid can be reused; a lock cannot outlive its process).
- ``<owner>.ack``: how far the owner's records were delivered (segment and offset). The
  owner holds an ``flock`` on it too, so that it is still known alive when a cleaner of
  old files removed its ``.lock``.
- ``<owner>.<number>.seg``: the records, numbered in writing order.

Owner names are ``<tenant>-<pid>-<random>``: the tenant is a hash of the write key and
the endpoint (never the key itself), so a spool is only ever taken over by a client
that sends to the same source at the same place; the rest keeps names unique per client
and readable in a listing.

The directory is untrusted: every file is created with ``O_EXCL | O_NOFOLLOW`` (mode
0600 whatever the umask), and a file this process did not create is only read, after
``fstat`` shows a regular file of this user's with a single link (``open_owned``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
import struct
import zlib

from segment_web.spool.records import Position

LOCK_SUFFIX = ".lock"
ACK_SUFFIX = ".ack"
SEGMENT_SUFFIX = ".seg"
_NUMBER_DIGITS = 10
_ACK = struct.Struct("<QI")  # position, CRC-32 of the position's bytes
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
CREATE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeSpool(OSError):
    """A spool directory or file this process must not trust (the message says why)."""


def tenant_of(write_key: str, endpoint: str) -> str:
    """The identity a spool carries: which source (write key) it sends to, and where.
    A truncated SHA-256: the key cannot be read back from a file name."""
    digest = hashlib.sha256(f"segment_web spool\0{write_key}\0{endpoint}".encode())
    return digest.hexdigest()[:24]


def new_owner(tenant: str) -> str:
    return f"{tenant}-{os.getpid()}-{secrets.token_hex(6)}"


def pid_of(owner: str) -> str:
    parts = owner.split("-")
    return parts[1] if len(parts) == 3 else "?"


def segment_path(directory: str, owner: str, number: int) -> str:
    return os.path.join(directory, f"{owner}.{number:0{_NUMBER_DIGITS}d}{SEGMENT_SUFFIX}")


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


def _owner_in(name: str) -> str | None:
    """The owner a spool file's name belongs to, if it is one."""
    if name.endswith(LOCK_SUFFIX):
        return name[: -len(LOCK_SUFFIX)]
    if name.endswith(ACK_SUFFIX):
        return name[: -len(ACK_SUFFIX)]
    if name.endswith(SEGMENT_SUFFIX):
        owner, _, number = name[: -len(SEGMENT_SUFFIX)].rpartition(".")
        if owner and number.isdigit():
            return owner
    return None


def tenant_owners(directory: str, tenant: str) -> list[str]:
    """Owners of ``tenant`` with any file in ``directory`` (a ``.lock``, an ``.ack`` or a
    segment: a cleaner of old files may have removed the others), oldest file first.
    An entry that cannot be examined is passed over: it never stops the others."""
    oldest: dict[str, float] = {}
    prefix = tenant + "-"
    with os.scandir(directory) as entries:
        for entry in entries:
            owner = _owner_in(entry.name) if entry.name.startswith(prefix) else None
            if owner is None:
                continue
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            oldest[owner] = min(modified, oldest.get(owner, modified))
    return sorted(oldest, key=oldest.__getitem__)


def check_directory(directory: str) -> None:
    """Create ``directory`` (0700, missing parents too), or check that an existing one
    is this user's and writable by no one else; raises ``UnsafeSpool`` saying how to fix
    it otherwise."""
    try:
        _make_directory(directory)
    except FileExistsError:
        pass
    else:
        return
    found = os.stat(directory)
    if not stat.S_ISDIR(found.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", directory)
    if found.st_uid != os.geteuid():
        raise UnsafeSpool(
            errno.EPERM,
            f"the spool directory is owned by another user (uid {found.st_uid}), who could "
            f"read and plant messages: use a directory of this user's (uid {os.geteuid()}), "
            f"mode 0700",
            directory,
        )
    if found.st_mode & 0o022:
        raise UnsafeSpool(
            errno.EPERM,
            f"the spool directory is writable by other users (mode "
            f"{stat.S_IMODE(found.st_mode):04o}), who could plant messages or links: "
            f"chmod 700 it",
            directory,
        )


def _make_directory(directory: str) -> None:
    """mkdir 0700 whatever the umask, and the missing parents the same way."""
    try:
        os.mkdir(directory, DIRECTORY_MODE)
    except FileNotFoundError:
        parent = os.path.dirname(os.path.abspath(directory))
        if parent == os.path.abspath(directory):
            raise
        with contextlib.suppress(FileExistsError):
            _make_directory(parent)
        os.mkdir(directory, DIRECTORY_MODE)
    os.chmod(directory, DIRECTORY_MODE)  # the umask may have taken bits away


def create_file(path: str, flags: int = os.O_RDWR) -> int:
    """A new file at ``path``, 0600; fails if anything (a file, a link) is there already."""
    fd = os.open(path, flags | CREATE, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a umask such as 0277 would have taken the write bit
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_owned(path: str, flags: int = os.O_RDONLY, *, names: int = 1) -> int:
    """Open a file another process made: never through a link, and only a regular file
    of this user's with at most ``names`` names (not a hard link to a file elsewhere);
    ``UnsafeSpool`` else."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        found = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(found.st_mode):
            problem = "not a regular file"
        elif found.st_uid != os.geteuid():
            problem = f"owned by another user (uid {found.st_uid})"
        elif found.st_nlink > names:
            problem = f"a file with {found.st_nlink} names"
        if problem is not None:
            raise UnsafeSpool(errno.EPERM, f"{problem}: not read", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


class OwnerLock:
    """An ``flock`` held on ``<owner>.lock``: while it is held, the owner's files are ours."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def create(cls, directory: str, owner: str) -> OwnerLock:
        """Lock an owner's file. Locked under a temporary name, then linked to its own:
        no other process can ever find the lock file unlocked and take it for a dead
        one, and of two processes making it, one fails (``FileExistsError``)."""
        path = os.path.join(directory, owner + LOCK_SUFFIX)
        temporary = f"{path}.{secrets.token_hex(4)}.new"
        fd = create_file(temporary)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.link(temporary, path)
        except BaseException:
            os.close(fd)
            raise
        finally:
            _remove(temporary)
        return cls(path, fd)

    @classmethod
    def adopt(cls, directory: str, owner: str) -> OwnerLock | None:
        """Lock a dead owner's file; None when its owner lives or someone else took it.

        When the lock file is gone (an age-based cleaner), the owner is dead if the
        ``flock`` on its ``.ack`` is free: a new lock file is made for it then.
        """
        path = os.path.join(directory, owner + LOCK_SUFFIX)
        try:
            # only locked, never written; a second name while its maker links it
            fd = open_owned(path, names=2)
        except FileNotFoundError:
            return cls._relock(directory, owner)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Whoever held it may have finished with the files and removed this lock
            # file before we got it: then it is no longer the owner's lock.
            if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
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

    @classmethod
    def _relock(cls, directory: str, owner: str) -> OwnerLock | None:
        ack = os.path.join(directory, owner + ACK_SUFFIX)
        try:
            fd = open_owned(ack)
        except FileNotFoundError:
            return None  # no lock and no ack: not taken over before its owner made them
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # alive, or taken over by another process
        finally:
            os.close(fd)
        try:
            return cls.create(directory, owner)
        except FileExistsError:
            return None  # another process made one first: its to take

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
    """``<owner>.ack``: the position up to which the owner's records were delivered.

    Locked (``flock``) while open. Made with its first value written, so that a later
    write replaces bytes in place and needs no disk space: on a full disk, delivery is
    still recorded.
    """

    def __init__(self, path: str, fd: int, start: Position | None) -> None:
        self.path = path
        self.fd = fd
        self.start = start  # what the file said when opened (None: a new file)

    @classmethod
    def create(cls, directory: str, owner: str, where: Position = 0) -> AckFile:
        path = os.path.join(directory, owner + ACK_SUFFIX)
        fd = create_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, _pack(where))
        except BaseException:
            os.close(fd)
            _remove(path)
            raise
        return cls(path, fd, None)

    @classmethod
    def take_over(cls, directory: str, owner: str) -> AckFile:
        """A dead owner's acknowledgement, carried into a file of this process's own
        (written there, then renamed over the old one, which is only ever read)."""
        path = os.path.join(directory, owner + ACK_SUFFIX)
        start = None
        with contextlib.suppress(FileNotFoundError):
            old = open_owned(path)
            try:
                start = _unpack(os.pread(old, _ACK.size, 0))
            finally:
                os.close(old)
        temporary = f"{path}.{secrets.token_hex(4)}.new"
        fd = create_file(temporary)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, _pack(start or 0))
            os.rename(temporary, path)
        except BaseException:
            os.close(fd)
            _remove(temporary)
            raise
        return cls(path, fd, start)

    def write(self, where: Position) -> None:
        # One small write at offset 0: it replaces the previous value whole.
        os.pwrite(self.fd, _pack(where), 0)

    def remove(self) -> None:
        _remove(self.path)
        os.close(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _pack(where: Position) -> bytes:
    packed = where.to_bytes(8, "little")
    return packed + zlib.crc32(packed).to_bytes(4, "little")


def _unpack(data: bytes) -> Position | None:
    """The position written last; None when never written or unreadable."""
    if len(data) < _ACK.size:
        return None
    where, crc = _ACK.unpack(data[: _ACK.size])
    return where if zlib.crc32(data[:8]) == crc else None


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
