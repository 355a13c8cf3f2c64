"""Flush queued messages when the process is told to end with SIGTERM.

Servers end their processes in different ways after a graceful shutdown: some return
normally (``atexit`` runs), but uvicorn restores the handler it found and re-raises
SIGTERM, so the process dies by the signal and ``atexit`` never runs. A client created
with ``flush_on_signals=True`` (the default) installs, once per process and only from
the main thread, a SIGTERM handler that flushes every live client (bounded by their
``shutdown_timeout``) and then hands the signal on unchanged:

- to the handler that was there before (a server's own graceful shutdown), or
- to the default action: the handler is restored and the signal raised again, so the
  process still ends by SIGTERM with the exit status its supervisor expects. As
  ``atexit`` will not run, the clients are then shut down rather than just flushed,
  so a spool whose messages were all delivered leaves no files behind.

An ignored SIGTERM stays ignored; under uWSGI, which owns its signals and runs
``atexit`` in its workers, nothing is installed. Under gevent or eventlet
monkey-patching nothing blocks inside the handler (those servers end through
``atexit``, which flushes).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from segment_web.process import registry as lifecycle

if TYPE_CHECKING:
    from segment_web.core.client import Analytics

logger = logging.getLogger("segment_web")

_install_lock = threading.Lock()
_our_handlers: list[Callable[[int, FrameType | None], None]] = []
_flushing = threading.Event()


def flush_live_clients(timeout: float | None = None) -> None:
    """Flush every live client, all within ``timeout`` (default: the longest
    ``shutdown_timeout`` among them); never raises, a failure is logged."""
    if timeout is None:
        timeout = lifecycle.longest_shutdown_timeout()
    try:
        lifecycle.flush_all_clients(timeout)
    except Exception as error:
        logger.error("segment_web: flush failed: %s", error)


def flush_quietly(client: Analytics, timeout: float) -> None:
    """``client.flush(timeout)``, logging instead of raising: a process that is ending,
    or a handler that already has its own result, must not fail on analytics."""
    try:
        client.flush(timeout=timeout)
    except Exception as error:
        logger.error("segment_web: flush failed: %s", error)


def install_signal_flush(signum: int = signal.SIGTERM) -> bool:
    """Install the flushing handler for ``signum`` unless it is there already.

    Returns True when the handler is in place. Only the main thread may install
    handlers; from another thread, or when the signal is ignored, nothing happens.
    """
    if threading.current_thread() is not threading.main_thread():
        logger.debug("segment_web: not in the main thread; no flush on signal %d", signum)
        return False
    if "uwsgi" in sys.modules:
        # uWSGI drives its processes with its own C signal handlers (SIGTERM reloads a
        # worker) and runs atexit when a worker ends: a Python handler would only get
        # in the way of both.
        return False
    with _install_lock:
        previous = signal.getsignal(signum)
        if previous in _our_handlers:
            return True
        if previous is signal.SIG_IGN:
            return False
        handler = _flush_then(previous)
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError) as error:  # e.g. an embedded interpreter
            logger.debug("segment_web: cannot handle signal %d: %s", signum, error)
            return False
        _our_handlers.append(handler)
        return True


def _flush_then(previous: Any) -> Callable[[int, FrameType | None], None]:
    # One handler per replaced handler: a server that saved one of ours and restores it
    # later (uvicorn) gets back the handler that chains to what *it* replaced.
    ends_here = not callable(previous) and (previous is None or previous == signal.SIG_DFL)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not _flushing.is_set() and not _threads_are_green():
            _flushing.set()
            try:
                # When the default action is about to end the process, atexit will not
                # run: shut the clients down as it would (a delivered spool leaves no
                # files). Otherwise the process goes on, or ends through atexit.
                _off_the_main_thread(shut_down_live_clients if ends_here else flush_live_clients)
            finally:
                _flushing.clear()
        if callable(previous):
            previous(signum, frame)
        elif ends_here:
            # The default action ends the process; do exactly that, by the same signal.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return on_signal


def shut_down_live_clients() -> None:
    """Shut every live client down as at exit; never raises, a failure is logged."""
    try:
        lifecycle.shut_down_all_clients()
    except Exception as error:
        logger.error("segment_web: shutdown failed: %s", error)


def _off_the_main_thread(stop: Callable[[], None]) -> None:
    # The signal may interrupt the main thread while it holds a client's queue lock (in
    # the middle of a track() call); flushing from a helper thread with a bounded join
    # turns that case into a logged timeout instead of a deadlock.
    timeout = lifecycle.longest_shutdown_timeout()
    worker = threading.Thread(target=stop, name="segment-web-sigterm-flush")
    worker.daemon = True
    worker.start()
    worker.join(timeout + 1.0)
    if worker.is_alive():
        logger.warning("segment_web: flush at SIGTERM did not finish in %.1fs", timeout + 1.0)


def _threads_are_green() -> bool:
    """True when gevent or eventlet replaced ``threading``: blocking in a handler is unsafe."""
    for module_name, check_name, patched in (
        ("gevent.monkey", "is_module_patched", "threading"),
        ("eventlet.patcher", "is_monkey_patched", "thread"),
    ):
        check = getattr(sys.modules.get(module_name), check_name, None)
        if check is not None and check(patched):
            return True
    return False
