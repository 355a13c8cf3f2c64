"""Notice a fork that bypassed Python's at-fork hooks, without a system call per check.

A process forked from C never runs the hooks of ``os.register_at_fork``: uWSGI 2.0
forks its workers so (unless started with ``--py-call-osafterfork``), and so does any
``fork()`` through ctypes or an extension. The child goes on with its parent's queues,
threads that do not exist in it, locks those threads held, and the parent's random
state. ``ForkMark.moved()`` tells, in such a child, that the process is not the one
that made (or last renewed) the mark.

On Linux 4.14+ it reads a byte of a private page marked ``MADV_WIPEONFORK``: the kernel
hands every child a zeroed copy, so the check is a memory read (some 440 instructions
with the call, CPython 3.11). Elsewhere it compares ``os.getpid()``, a system call
(2.6-3.9 µs measured in a VM, CPython 3.11).
"""

from __future__ import annotations

import mmap
import os

_MADV_WIPEONFORK = 18  # Linux 4.14+; not exported by the mmap module


def _wiped_on_fork_page() -> mmap.mmap | None:
    """A one-byte mark set to 1 that reads 0 in any forked child, or None."""
    try:
        page = mmap.mmap(-1, 1, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (AttributeError, OSError, ValueError):  # no anonymous private maps here
        return None
    try:
        page.madvise(_MADV_WIPEONFORK)  # EINVAL before Linux 4.14
    except (AttributeError, OSError, ValueError):
        page.close()
        return None
    page[0] = 1
    return page


class ForkMark:
    """Made in one process; ``moved()`` is True in any process forked from it since,
    until ``renew()`` is called there."""

    __slots__ = ("_page", "_pid")

    def __init__(self) -> None:
        self._page: mmap.mmap | None = None
        self._pid = 0
        self.renew()

    def renew(self) -> None:
        """Mark the current process as this mark's own (in a child: after resetting)."""
        # The previous page is not closed: a thread may be reading it; it is unmapped
        # (in this process only) once no longer referenced.
        self._page = _wiped_on_fork_page()
        self._pid = os.getpid()

    def moved(self) -> bool:
        """True in a forked child of the process that last renewed the mark."""
        page = self._page
        if page is not None:
            return not page[0]
        return os.getpid() != self._pid

    @property
    def uses_page(self) -> bool:
        """Whether the check is a memory read (else a ``getpid()`` call)."""
        return self._page is not None
