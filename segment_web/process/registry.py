"""The one owner of process-wide state: the live clients and the hooks of the process.

Nothing here runs at import. The first client registered installs, once per process:

- an ``atexit`` hook that shuts every live client down (flushed, bounded by its
  ``shutdown_timeout``), including a client the application dropped whose delivery
  thread is still sending;
- an ``os.fork()`` hook: in a forked child (gunicorn ``--preload``, multiprocessing)
  every pipeline starts empty with fresh locks and no thread, message ids are re-seeded,
  and every reset registered with ``on_fork_in_child`` runs (each module registers the
  reset of its own locks, as ``logging`` and ``random`` do);
- a ``multiprocessing`` after-fork hook that arms a flush at the child's end: forked
  ``Process`` and ``Pool`` children leave through ``os._exit()``, which skips
  ``atexit``, but they run ``multiprocessing``'s exit finalizers;
- the SIGTERM handler (``segment_web.process.sigterm``) when a client asks for it
  (``flush_on_signals=True``, the default); it flushes only the clients that asked.

A client the application drops is collected like any object; its delivery thread then
sends what is pending and ends.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from segment_web.process import sigterm
from segment_web.process.uwsgi import warn_if_threads_disabled
from segment_web.wire import ids

if TYPE_CHECKING:
    from segment_web.core.pipeline import Pipeline

logger = logging.getLogger("segment_web")

EXIT_DROP_REASON = "not delivered before the process exited"
# Runs before multiprocessing finalizers registered without a priority (the pool's own).
_CHILD_EXIT_PRIORITY = 100

_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()
_flushed_on_signals: weakref.WeakSet[Pipeline] = weakref.WeakSet()
_fork_resets: list[Callable[[], None]] = []
_hooks_lock = threading.Lock()
_hooks_installed = False
_clients: weakref.WeakSet[object] = weakref.WeakSet()  # for the metrics exporters


def register(owner: object, pipeline: Pipeline, *, flush_on_signals: bool) -> None:
    """Look after ``pipeline`` for its whole life; its thread ends once ``owner`` (the
    client) is collected. ``flush_on_signals``: flush it when SIGTERM ends the process."""
    _install_hooks_once()
    _pipelines.add(pipeline)
    _clients.add(owner)
    pipeline.watch(owner)
    if flush_on_signals:
        _flushed_on_signals.add(pipeline)
        sigterm.install_signal_flush(
            _flush_at_signal, _shut_down_at_signal, _longest_signal_timeout
        )
    warn_if_threads_disabled()


def on_fork_in_child(reset: Callable[[], None]) -> None:
    """Run ``reset`` in every forked child, before any client is used there (for a
    module-level lock a thread of the parent may have held at the fork)."""
    _fork_resets.append(reset)


def hooks_installed() -> bool:
    """True once the first client installed the process hooks."""
    return _hooks_installed


def live_clients() -> list[object]:
    """The clients not yet collected (shut down ones included)."""
    return list(_clients)


def flush_all_clients(timeout: float) -> int:
    """Flush every live client, all within ``timeout`` seconds; returns how many of their
    messages were delivered.

    Every client's pending messages are made due at once, then each is waited for with
    what is left of the time; a client that is still sending when it runs out is logged
    (its messages stay queued, for the exit-time flush). Delivery errors are not raised:
    they were reported already. A signal handler may call it; if the signal interrupted
    an analytics call on the same thread, delivery waits for the handler to return, so
    the flush then just lasts ``timeout``.
    """
    return _flush(list(_pipelines), timeout)


def flush_live_clients(timeout: float | None = None) -> None:
    """Flush every live client, all within ``timeout`` (default: the longest
    ``shutdown_timeout`` among them); never raises, a failure is logged."""
    pipelines = list(_pipelines)
    if timeout is None:
        timeout = _longest_timeout(pipelines)
    try:
        _flush(pipelines, timeout)
    except Exception as error:
        logger.error("segment_web: flush failed: %s", error)


def longest_shutdown_timeout() -> float:
    """The longest ``shutdown_timeout`` among the live clients (0 without any)."""
    return _longest_timeout(list(_pipelines))


def _flush(pipelines: list[Pipeline], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    requested = [(p, p.request_flush()) for p in pipelines if not p.closed]
    delivered = 0
    for pipeline, waiter in requested:
        try:
            pipeline.wait_flush(waiter, max(deadline - time.monotonic(), 0.0))
        finally:
            delivered += pipeline.count_delivered(waiter)
    return delivered


def _longest_timeout(pipelines: list[Pipeline]) -> float:
    return max((p.shutdown_timeout for p in pipelines if not p.closed), default=0.0)


def _longest_signal_timeout() -> float:
    return _longest_timeout(list(_flushed_on_signals))


def _flush_at_signal() -> None:
    pipelines = list(_flushed_on_signals)
    try:
        _flush(pipelines, _longest_timeout(pipelines))
    except Exception as error:
        logger.error("segment_web: flush failed: %s", error)


def _shut_down_at_signal() -> None:
    # The signal is about to end the process and atexit will not run: shut the clients
    # that asked for it down as atexit would (a spool whose messages were all delivered
    # leaves no files behind).
    _shut_down(list(_flushed_on_signals))


def shut_down_all_clients() -> None:
    """Shut every live client down, each within its ``shutdown_timeout``: what is
    delivered leaves no trace (a spool's files are removed), what is not stays in the
    spool or is reported dropped. For the process's very end only (``atexit``)."""
    _shut_down(list(_pipelines))


def _shut_down(pipelines: list[Pipeline]) -> None:
    for pipeline in pipelines:
        try:
            pipeline.shutdown(pipeline.shutdown_timeout, EXIT_DROP_REASON)
        except Exception as error:
            logger.error("segment_web: shutdown at exit failed: %s", error)


def _install_hooks_once() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    with _hooks_lock:
        if _hooks_installed:
            return
        atexit.register(shut_down_all_clients)
        os.register_at_fork(after_in_child=_reset_in_forked_child)
        # Imported here: importing multiprocessing.util registers an atexit hook of its own.
        from multiprocessing import util

        util.register_after_fork(_ARM_CHILD_EXIT, _arm_child_exit_flush)
        _hooks_installed = True


def _reset_in_forked_child() -> None:
    global _hooks_lock
    _hooks_lock = threading.Lock()
    ids.reseed_after_fork()
    for reset in list(_fork_resets):
        reset()
    for pipeline in list(_pipelines):
        pipeline.reset_after_fork()


class _ArmChildExit:
    """An object to hang the multiprocessing after-fork hook on (held weakly there)."""


_ARM_CHILD_EXIT = _ArmChildExit()


def _arm_child_exit_flush(_: object) -> None:
    from multiprocessing import util

    util.Finalize(None, flush_live_clients, exitpriority=_CHILD_EXIT_PRIORITY)
