"""Flush queued messages when the process is told to end with SIGTERM.

Servers end their processes in different ways after a graceful shutdown: some return
normally (``atexit`` runs), but uvicorn restores the handler it found and re-raises
SIGTERM, so the process dies by the signal and ``atexit`` never runs. A client created
with ``flush_on_signals=True`` (the default) installs, once per process and only from
the main thread, a SIGTERM handler that flushes every live client created with that
option (bounded by their ``shutdown_timeout``) and then hands the signal on unchanged:

- to the handler that was there before (a server's own graceful shutdown), or
- to the default action: the handler is restored and the signal raised again, so the
  process still ends by SIGTERM with the exit status its supervisor expects. As
  ``atexit`` will not run, the clients are then shut down rather than just flushed,
  so a spool whose messages were all delivered leaves no files behind.

An ignored SIGTERM stays ignored; under uWSGI, which owns its signals and runs
``atexit`` in its workers, nothing is installed. Under gevent or eventlet
monkey-patching nothing blocks inside the handler (those servers end through
``atexit``, which flushes).

A client created off the main thread (lazily, in a request thread) cannot install the
handler: a warning names the fix, and the handler is installed at the first chance on
the main thread (the ASGI adapter offers one with every request).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("segment_web")

Flush = Callable[[], None]
Timeout = Callable[[], float]

_install_lock = threading.Lock()
_our_handlers: list[Callable[[int, FrameType | None], None]] = []
_flushing = threading.Event()
# Set when a client asked for the handler from a thread other than the main one: the
# next call of ``install_pending()`` on the main thread installs it.
_pending: tuple[Flush, Flush, Timeout] | None = None
_warned_off_main_thread = False
_terminating = False

OFF_MAIN_THREAD = (
    "segment_web: the client was created outside the main thread, where no signal "
    "handler can be installed, so queued events are not flushed if SIGTERM ends the "
    "process. Create the client at start-up (at import of your app module, or in the "
    "ASGI lifespan), or let the Django/Flask/ASGI integration create it"
)


def install_signal_flush(
    flush: Flush, shut_down: Flush, timeout: Timeout, signum: int = signal.SIGTERM
) -> bool:
    """Install a handler for ``signum`` that calls ``flush`` (or ``shut_down`` when the
    signal's default action is about to end the process), bounded by ``timeout()``
    seconds plus one, then hands the signal on; unless one is there already.

    Returns True when the handler is in place. Only the main thread may install
    handlers: from another thread the handler is left pending for ``install_pending()``
    and a warning names the fix; when the signal is ignored nothing happens.
    """
    global _pending, _warned_off_main_thread
    if threading.current_thread() is not threading.main_thread():
        _pending = (flush, shut_down, timeout)
        if not _warned_off_main_thread and "uwsgi" not in sys.modules:
            _warned_off_main_thread = True
            logger.warning(OFF_MAIN_THREAD)
        return False
    _pending = None
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
        handler = _flush_then(previous, flush, shut_down, timeout)
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError) as error:  # e.g. an embedded interpreter
            logger.debug("segment_web: cannot handle signal %d: %s", signum, error)
            return False
        _our_handlers.append(handler)
        return True


def terminating() -> bool:
    """True once SIGTERM reached our handler: the server is shutting down gracefully, and
    requests it lets finish must flush what they queue (the server may end the process by
    the re-raised signal, skipping ``atexit``, right after its last request)."""
    return _terminating


def install_pending() -> None:
    """Install the handler a client asked for off the main thread, if this is the main
    thread (an ASGI server's event loop runs there: the ASGI adapter calls this as each
    request starts, a cheap check once done)."""
    pending = _pending
    if pending is not None and threading.current_thread() is threading.main_thread():
        install_signal_flush(*pending)


def _flush_then(
    previous: Any, flush: Flush, shut_down: Flush, timeout: Timeout
) -> Callable[[int, FrameType | None], None]:
    # One handler per replaced handler: a server that saved one of ours and restores it
    # later (uvicorn) gets back the handler that chains to what *it* replaced.
    ends_here = not callable(previous) and (previous is None or previous == signal.SIG_DFL)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        global _terminating
        _terminating = True
        if not _flushing.is_set() and not _threads_are_green():
            _flushing.set()
            try:
                # When the default action is about to end the process, atexit will not
                # run: shut the clients down as it would. Otherwise the process goes on,
                # or ends through atexit.
                _off_the_main_thread(shut_down if ends_here else flush, timeout())
            finally:
                _flushing.clear()
        if callable(previous):
            previous(signum, frame)
        elif ends_here:
            # The default action ends the process; do exactly that, by the same signal.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return on_signal


def _off_the_main_thread(stop: Flush, timeout: float) -> None:
    # The signal may interrupt the main thread while it holds a client's queue lock (in
    # the middle of a track() call); flushing from a helper thread with a bounded join
    # turns that case into a logged timeout instead of a deadlock.
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
