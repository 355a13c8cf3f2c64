"""``write(2)`` and ``pwrite(2)`` called without releasing the GIL, where libc can be loaded.

``os.write`` and ``os.pwrite`` release the GIL around every call, and the client's
delivery thread, which is waiting for it while it builds and sends batches, takes it:
the caller of ``track()`` then waits up to the interpreter's switch interval to get it
back (and the delivery thread, acknowledging a batch under the client's lock, makes the
callers queue for that lock). A write of a few hundred bytes to the page cache takes
about a microsecond, so holding the GIL through it is cheaper for every thread.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable


def _raise_unless_interrupted() -> None:
    code = ctypes.get_errno()
    if code != errno.EINTR:
        raise OSError(code, os.strerror(code))


def _libc_calls() -> tuple[Callable[[int, bytes], int], Callable[[int, bytes, int], int]]:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL is kept during calls
        c_write, c_pwrite = libc.write, libc.pwrite
    except (OSError, AttributeError):
        return os.write, os.pwrite
    # off_t is a long for glibc (without _FILE_OFFSET_BITS=64) and on every 64-bit platform
    size_t, off_t = ctypes.c_size_t, ctypes.c_long
    # No argtypes (their checks cost more than the write): an int goes as a C int (the
    # descriptor), bytes as a pointer to them; the length and offset are typed here.

    def write(fd: int, data: bytes) -> int:
        while True:
            written: int = c_write(fd, data, size_t(len(data)))
            if written >= 0:
                return written
            _raise_unless_interrupted()

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        while True:
            written: int = c_pwrite(fd, data, size_t(len(data)), off_t(offset))
            if written >= 0:
                return written
            _raise_unless_interrupted()

    return write, pwrite


write, pwrite = _libc_calls()
