"""``Analytics``: the options, the six calls, flush and shutdown. No HTTP here."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import capture, lifecycle
from .batch import MAX_BATCH_BYTES, Batch, envelope_overhead
from .calls import MessageCalls
from .delivery import Deliverer
from .errors import ClientClosedError, ValidationError
from .message import MessageType, build_message, normalize_fields
from .option_checks import (
    is_bool,
    is_int,
    is_optional_callable,
    is_optional_path,
    is_seconds,
    require,
)
from .pipeline import CAPTURED, Pipeline
from .queue import Callback
from .reporting import Reporter
from .store import MemoryStore, MessageStore
from .transport import DEFAULT_HOST, RetryPolicy, Transport, batch_endpoint

if TYPE_CHECKING:
    from .spool.store import SpoolStore

logger = logging.getLogger("segment_web")

# PRODUCT.md: a missing write_key is a ValueError naming it, like an empty one, not the
# TypeError Python would give; the sentinel lets us say so.
REQUIRED: Any = type("_Required", (), {"__repr__": lambda self: "<missing>"})()


class Analytics(MessageCalls):
    """A Segment client with its own queue and delivery thread.

    Calls validate and encode the message on the caller's thread, queue it and return
    in microseconds; a background thread sends batches. See PRODUCT.md for the options.

    Durable delivery (``spool_dir``): every accepted message is written to a file in that
    directory before the call returns, and leaves it only once its batch is delivered,
    has finally failed, or was dropped (each reported as usual). Messages a process left
    there when it died (``kill -9``, OOM, a deploy) are taken over by the next client
    that starts, or is forked, with the same ``spool_dir``, oldest first, and
    ``flush()`` waits for them too; running clients look for such spools every 10 s.
    Beyond ``max_queue_size`` messages wait on disk, up to ``spool_max_bytes`` (then
    they are dropped, reason ``"spool full"``). Delivery is at least once: after a crash
    the batch that was in flight is sent again (same messageIds, which Segment
    deduplicates). ``spool_fsync_interval`` bounds what a machine crash can lose (0:
    fsync every message, slow). A spool that cannot be written is logged, and the
    messages it refuses are kept in memory and reported through the ``spool_failed``
    signal.
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
        max_batch_size: int | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 512 * 1024 * 1024,
        spool_fsync_interval: float = 1.0,
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
        if max_batch_size is not None:
            require("max_batch_size", max_batch_size, is_int(minimum=max(1, flush_at)))
        require("spool_dir", spool_dir, is_optional_path)
        require("spool_max_bytes", spool_max_bytes, is_int(minimum=1))
        require("spool_fsync_interval", spool_fsync_interval, is_seconds(positive=False))

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
        self.max_batch_size = self.flush_at if max_batch_size is None else max_batch_size
        self.spool_dir = spool_dir
        self.spool_max_bytes = spool_max_bytes
        self.spool_fsync_interval = float(spool_fsync_interval)

        self._reporter = Reporter(self, error_handler)
        transport = Transport(self.endpoint, write_key, timeout=self.timeout, gzip_bodies=gzip)
        self._transport = transport
        self._spool: SpoolStore | None = None
        if spool_dir is not None:
            from .spool.store import open_spool_store  # only clients with a spool load it

            self._spool = open_spool_store(
                spool_dir, max_queue_size, spool_max_bytes, self.spool_fsync_interval
            )
        store: MessageStore = MemoryStore(max_queue_size) if self._spool is None else self._spool
        self._pipeline = Pipeline(
            store,
            Deliverer(
                transport,
                RetryPolicy(max_retries=max_retries),
                self._reporter,
                write_key=write_key,
                enabled=enable,
            ),
            flush_at=self.flush_at,
            max_batch_size=self.max_batch_size,
            flush_interval=self.flush_interval,
            max_batch_bytes=MAX_BATCH_BYTES - envelope_overhead(write_key),
            max_queue_size=max_queue_size,
            shutdown_timeout=self.shutdown_timeout,
        )
        lifecycle.register(self, self._pipeline)

    def __repr__(self) -> str:
        return f"<Analytics {self.endpoint} queued={len(self._pipeline)}>"

    @property
    def flushed(self) -> bool:
        """False until the first batch went; set True to not send the first message at once."""
        return not self._pipeline.send_first

    @flushed.setter
    def flushed(self, value: bool) -> None:
        self._pipeline.send_first = not value

    @property
    def closed(self) -> bool:
        """True once ``shutdown()`` ran; a closed client takes no more calls."""
        return self._pipeline.closed

    @property
    def queued(self) -> int:
        """Messages waiting in the queue (not counting a batch in flight)."""
        return len(self._pipeline)

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
        if self._pipeline.closed:
            raise ClientClosedError("this Analytics client was shut down; create a new one")
        if callback is not None and not callable(callback):
            raise ValidationError("callback", f"must be callable, got {type(callback).__name__}")
        message, payload = build_message(kind, fields)
        message_id: str = message["messageId"]
        outcome = self._pipeline.accept(payload, callback)
        if outcome is CAPTURED:
            self._capture(message, payload, callback)
        elif outcome is not None:
            self._reporter.dropped([(payload, callback)], outcome, [message])
        else:
            self._reporter.queued(message)
            if self._spool is not None and self._spool.unspooled:
                self._reporter.not_spooled(self._spool.unspooled)
        return message_id

    def _capture(self, message: dict[str, Any], payload: bytes, callback: Callback | None) -> None:
        # Test mode (segment_web.testing) stands in for the store and the delivery: the
        # message is recorded as it would be stored, then reported as if delivered, all
        # before the call returns.
        for sink in capture.sinks:
            sink(self, json.loads(payload))  # the wire form, immune to later mutation
        self._reporter.queued(message)
        self._reporter.delivered(Batch([payload]), [(payload, callback)], None)

    def flush(self, timeout: float | None = None) -> int:
        """Block until every message queued before this call is delivered or finally failed.

        Returns the number of messages delivered since the previous ``flush()`` returned
        (or since the client started) among those queued before this call: eleven calls
        then ``flush()`` return 11, however many of them the immediate send of the first
        message delivered already. When several threads flush at once, each delivered
        message is counted once, by the first of their ``flush()`` calls to return after
        its delivery among those called after it was queued; the others do not count it.

        Raises the delivery error of a batch it waited for unless an ``error_handler`` is
        set. With ``timeout`` (seconds), returns when it passes, logging what is still
        pending (those messages are counted by a later ``flush()``).
        """
        delivered, error = self._pipeline.flush(timeout)
        if error is not None and self.error_handler is None:
            raise error
        return delivered

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
        lifespan or ``atexit`` hook must complete. Messages still queued when ``timeout``
        runs out are reported dropped.
        """
        self._pipeline.shutdown(timeout, "the client was shut down before it could be sent")
