"""``Analytics``: the options, the six calls, flush and shutdown. No HTTP here."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from . import capture, multiprocessing_exit  # noqa: F401 (arms the flush in child processes)
from .batch import MAX_BATCH_BYTES, Batch, envelope_overhead
from .calls import MessageCalls
from .delivery import DeliveryThread
from .errors import ClientClosedError, DeliveryError, ValidationError
from .message import MessageType, build_message, normalize_fields
from .option_checks import is_bool, is_int, is_optional_callable, is_seconds, require
from .queue import BatchQueue, Callback
from .reporting import Reporter
from .termination import install_signal_flush
from .transport import DEFAULT_HOST, RetryPolicy, Transport, batch_endpoint
from .uwsgi_threads import warn_if_threads_disabled

logger = logging.getLogger("segment_web")

_FLUSH_POLL = 0.25  # how often a waiting flush checks that the delivery thread still lives
# PRODUCT.md: a missing write_key is a ValueError naming it, like an empty one, not the
# TypeError Python would give; the sentinel lets us say so.
REQUIRED: Any = type("_Required", (), {"__repr__": lambda self: "<missing>"})()


class Analytics(MessageCalls):
    """A Segment client with its own queue and delivery thread.

    Calls validate and encode the message on the caller's thread, queue it and return
    in microseconds; a background thread sends batches. See PRODUCT.md for the options.
    """

    def __init__(
        self,
        write_key: str = REQUIRED,
        *,
        host: str = DEFAULT_HOST,
        flush_at: int = 20,
        flush_interval: float = 10.0,
        enable: bool = True,
        error_handler: Callable[[Exception], Any] | None = None,
        max_queue_size: int = 10_000,
        max_retries: int = 10,
        timeout: float = 15.0,
        gzip: bool = True,
        shutdown_timeout: float = 5.0,
        flush_on_signals: bool = True,
    ) -> None:
        if write_key is REQUIRED:
            raise ValueError("write_key is required: your Segment source's write key")
        if not isinstance(write_key, str) or not write_key.strip():
            raise ValueError(f"write_key must be a non-empty string, got {write_key!r}")
        require("flush_at", flush_at, is_int())  # below 1 becomes 1, as the seed does
        require("max_queue_size", max_queue_size, is_int(minimum=1))
        require("max_retries", max_retries, is_int(minimum=0))
        require("flush_interval", flush_interval, is_seconds(positive=False))
        require("timeout", timeout, is_seconds(positive=True))
        require("shutdown_timeout", shutdown_timeout, is_seconds(positive=False))
        require("enable", enable, is_bool)
        require("gzip", gzip, is_bool)
        require("error_handler", error_handler, is_optional_callable)
        require("flush_on_signals", flush_on_signals, is_bool)

        self.write_key = write_key
        self.host = host
        self.endpoint = batch_endpoint(host)
        self.flush_at = max(1, flush_at)
        self.flush_interval = float(flush_interval)
        self.enable = enable
        self.error_handler = error_handler
        self.max_queue_size = max_queue_size
        self.max_retries = max_retries
        self.timeout = float(timeout)
        self.gzip = gzip
        self.shutdown_timeout = float(shutdown_timeout)

        self._closed = False
        self._queue = BatchQueue(
            flush_at=self.flush_at,
            flush_interval=self.flush_interval,
            max_size=max_queue_size,
            max_batch_bytes=MAX_BATCH_BYTES - envelope_overhead(write_key),
        )
        self._reporter = Reporter(self, error_handler)
        self._transport = Transport(
            self.endpoint, write_key, timeout=self.timeout, gzip_bodies=gzip
        )
        self._delivery = DeliveryThread(
            self._queue,
            self._transport,
            RetryPolicy(max_retries=max_retries),
            self._reporter,
            write_key=write_key,
            enabled=enable,
        )
        _live_clients.add(self)
        self.flush_on_signals = flush_on_signals
        if flush_on_signals:
            install_signal_flush()
        warn_if_threads_disabled()

    def __repr__(self) -> str:
        return f"<Analytics {self.endpoint} queued={len(self._queue)}>"

    @property
    def flushed(self) -> bool:
        """False until the first batch went; set True to not send the first message at once."""
        return not self._queue.send_first

    @flushed.setter
    def flushed(self, value: bool) -> None:
        self._queue.send_first = not value

    @property
    def closed(self) -> bool:
        """True once ``shutdown()`` ran; a closed client takes no more calls."""
        return self._closed

    @property
    def queued(self) -> int:
        """Messages waiting in the queue (not counting a batch in flight)."""
        return len(self._queue)

    def _send(
        self,
        kind: MessageType,
        message: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
        callback: Callback | None,
    ) -> str:
        return self.enqueue(kind, normalize_fields(kind, message, fields), callback)

    def enqueue(
        self, kind: MessageType, fields: Mapping[str, Any], callback: Callback | None = None
    ) -> str:
        """Validate and queue one message from snake_case ``fields``; returns its messageId."""
        if self._closed:
            raise ClientClosedError("this Analytics client was shut down; create a new one")
        if callback is not None and not callable(callback):
            raise ValidationError("callback", f"must be callable, got {type(callback).__name__}")
        message, payload = build_message(kind, fields)
        message_id: str = message["messageId"]
        if capture.sinks:
            for sink in capture.sinks:
                # The wire form, decoded: what would be sent, immune to later mutation.
                sink(self, json.loads(payload))
            self._reporter.delivered(Batch([payload]), [(payload, callback)], None)
            return message_id
        if not self._queue.put(payload, callback):
            reason = f"queue full (max_queue_size={self.max_queue_size})"
            self._reporter.dropped([(payload, callback)], reason, [message])
            return message_id
        self._delivery.ensure_running()
        self._reporter.queued(message)
        return message_id

    def flush(self, timeout: float | None = None) -> int:
        """Block until every message queued before this call is delivered or finally failed.

        Returns how many of them were delivered. Raises the delivery error unless an
        ``error_handler`` is set. With ``timeout`` (seconds), returns when it passes,
        logging what is still pending.
        """
        if self._delivery.is_current_thread():
            # From a callback or error_handler: the batch being reported is this thread's
            # own, so waiting for it could never end.
            raise RuntimeError(
                "flush() cannot be called from a callback: it runs on the delivery thread"
            )
        waiter = self._queue.request_flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not waiter.done.is_set():
            wait = _FLUSH_POLL
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    pending = waiter.target - self._queue.processed
                    logger.warning(
                        "segment_web: flush timed out after %.1fs with %d message(s) pending",
                        timeout,
                        pending,
                    )
                    return waiter.delivered
                wait = min(wait, left)
            if waiter.done.wait(wait):
                break
            self._revive_delivery()
        if waiter.error is not None and self.error_handler is None:
            raise waiter.error
        return waiter.delivered

    async def aflush(self, timeout: float | None = None) -> int:
        """``flush()`` without blocking the event loop (asyncio, or trio through anyio)."""
        try:
            import anyio.to_thread
        except ImportError:  # anyio comes with Starlette; plain asyncio needs nothing
            return await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)
        return await anyio.to_thread.run_sync(self.flush, timeout)

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush, then stop the delivery thread; later calls raise ``ClientClosedError``.

        Unlike ``flush()`` it does not raise delivery errors: they were already reported
        (callbacks, ``error_handler``, ``batch_failed``, the log), and a shutdown in a
        lifespan or ``atexit`` hook must complete.
        """
        self._stop(timeout, "the client was shut down before it could be sent")

    def _stop(self, timeout: float | None, drop_reason: str) -> None:
        if self._closed:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self.flush(timeout)
        except Exception:
            pass  # a batch's failure was reported by the delivery thread already
        finally:
            self._closed = True
            self._delivery.abort.set()  # a batch still retrying gives up now
            # Counted now: completing the drained messages below moves `processed` past it.
            in_flight = self._queue.in_flight
            first, entries = self._queue.drain()
            self._reporter.dropped(entries, drop_reason)
            self._queue.complete(first, len(entries), DeliveryError(drop_reason))
            self._queue.close()
            # The thread ends at once unless a request is still out; the whole stop keeps
            # to ``timeout`` (at exit: shutdown_timeout), with a moment to finish up.
            left = None if deadline is None else max(deadline - time.monotonic(), 0.1)
            self._delivery.join(timeout=left)
            if in_flight and self._delivery.alive:
                logger.warning(
                    "segment_web: %d message(s) still in flight at shutdown, not known delivered",
                    in_flight,
                )
            self._reporter.flush_drop_log()
            _live_clients.discard(self)

    def _revive_delivery(self) -> None:
        """A flush must not hang on a delivery thread that died: fail its batch, restart it."""
        if self._delivery.alive or self._closed:
            return
        in_flight = self._queue.in_flight
        if in_flight:
            error = DeliveryError("the delivery thread died with this batch in flight")
            self._queue.complete(self._queue.processed, in_flight, error)
        if len(self._queue):
            self._delivery.ensure_running()

    def _flush_at_exit(self) -> None:
        try:
            self._stop(self.shutdown_timeout, "not delivered before the process exited")
        except Exception as error:
            logger.error("segment_web: flush at exit failed: %s", error)

    def _after_fork_in_child(self) -> None:
        self._queue.reset_after_fork()
        self._delivery.forget_thread()
        self._transport.reset_after_fork()
        self._reporter.reset_after_fork()


_live_clients: weakref.WeakSet[Analytics] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for client in list(_live_clients):
        client._flush_at_exit()


def _reset_all_after_fork() -> None:
    for client in list(_live_clients):
        client._after_fork_in_child()


atexit.register(_flush_all_at_exit)
os.register_at_fork(after_in_child=_reset_all_after_fork)
