"""Flush when a ``multiprocessing`` child process ends.

Forked ``multiprocessing`` children (``Process``, ``Pool`` workers) end through
``os._exit()``, which skips ``atexit``. They do run ``multiprocessing``'s own exit
finalizers, and call its after-fork hooks when they start: the hook below arms a
finalizer in each child that flushes every client, bounded by ``shutdown_timeout``.
(Spawned children exit normally, so ``atexit`` flushes there as well.)
"""

from __future__ import annotations

from multiprocessing import util

from segment_web.process.sigterm import flush_live_clients

# Runs before finalizers registered without a priority, such as the pool's own.
_EXIT_PRIORITY = 100


class _Hook:
    """An object to hang the after-fork hook on (the registry holds it weakly)."""


_hook = _Hook()


def _arm_exit_flush(_: object) -> None:
    util.Finalize(None, flush_live_clients, exitpriority=_EXIT_PRIORITY)


util.register_after_fork(_hook, _arm_exit_flush)
