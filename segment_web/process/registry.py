"""The process around the clients: interpreter exit, ``os.fork()``, collected clients.

- At interpreter exit every live client's pipeline is shut down (flushed, bounded by its
  ``shutdown_timeout``), including that of a client the application dropped whose
  delivery thread is still sending.
- In a forked child (gunicorn ``--preload``, multiprocessing) every pipeline starts
  empty with fresh locks and no thread, and so do the module-level locks a thread of
  the parent may have held at the fork.
- A client the application drops is collected like any object; its delivery thread
  then sends what is pending and ends.

``flush_all_clients(timeout)`` flushes every live client, bounded: for signal handlers
and other hooks of the process's end that do not pass through ``atexit``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref

from segment_web.core.pipeline import Pipeline

logger = logging.getLogger("segment_web")

EXIT_DROP_REASON = "not delivered before the process exited"

_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()
_clients: weakref.WeakSet[object] = weakref.WeakSet()  # for the metrics exporters


def register(owner: object, pipeline: Pipeline) -> None:
    """Look after ``pipeline`` for its whole life; its thread ends once ``owner`` (the
    client) is collected."""
    _pipelines.add(pipeline)
    _clients.add(owner)
    pipeline.watch(owner)


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
    deadline = time.monotonic() + timeout
    requested = []
    for pipeline in list(_pipelines):
        if not pipeline.closed:
            requested.append((pipeline, pipeline.request_flush()))
    delivered = 0
    for pipeline, waiter in requested:
        try:
            pipeline.wait_flush(waiter, max(deadline - time.monotonic(), 0.0))
        finally:
            delivered += pipeline.count_delivered(waiter)
    return delivered


def longest_shutdown_timeout() -> float:
    """The longest ``shutdown_timeout`` among the live clients (0 without any)."""
    return max((p.shutdown_timeout for p in list(_pipelines) if not p.closed), default=0.0)


def _shut_down_all_at_exit() -> None:
    for pipeline in list(_pipelines):
        try:
            pipeline.shutdown(pipeline.shutdown_timeout, EXIT_DROP_REASON)
        except Exception as error:
            logger.error("segment_web: flush at exit failed: %s", error)


def _reset_all_in_forked_child() -> None:
    # Imported here: those modules import the client, which imports this one.
    from segment_web import api as module_api
    from segment_web.core import capture
    from segment_web.wire import ids

    ids.reseed_after_fork()
    capture._lock = threading.Lock()
    module_api._lock = threading.Lock()
    for pipeline in list(_pipelines):
        pipeline.reset_after_fork()


atexit.register(_shut_down_all_at_exit)
os.register_at_fork(after_in_child=_reset_all_in_forked_child)
