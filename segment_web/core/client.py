"""``Analytics``: the options, the six calls, flush and shutdown. No HTTP here."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from segment_web.core import capture
from segment_web.core.calls import MessageCalls
from segment_web.core.message import MessageType, normalize_fields
from segment_web.core.options import require_option
from segment_web.core.pipeline import CAPTURED, Pipeline, QueueFullMode
from segment_web.core.processing import MessageChain, build_steps
from segment_web.core.processing.before_send import Hooks
from segment_web.core.processing.plan_check import PlanCheck
from segment_web.core.tracing import with_trace
from segment_web.delivery.batch import MAX_BATCH_BYTES, Batch, envelope_overhead
from segment_web.delivery.deliverer import Deliverer
from segment_web.delivery.entry import Callback
from segment_web.delivery.oauth import OAuthSettings, check_oauth
from segment_web.delivery.reporting import Reporter
from segment_web.delivery.routes import HttpOptions
from segment_web.delivery.stats import Stats, key_label
from segment_web.delivery.transport import RetryPolicy, Transport, batch_endpoint
from segment_web.errors import ClientClosedError, ValidationError
from segment_web.plan.modes import PlanMode
from segment_web.process import registry
from segment_web.store import MemoryStore, MessageStore

if TYPE_CHECKING:
    from segment_web.plan.tracking_plan import TrackingPlan

if TYPE_CHECKING:
    from segment_web.spool.disk_store import SpoolStore

logger = logging.getLogger("segment_web")

# A missing write_key is a ValueError naming it, like an empty one, not the TypeError
# Python would give; the sentinel lets us say so.
REQUIRED: Any = type("_Required", (), {"__repr__": lambda self: "<missing>"})()


class Analytics(MessageCalls):
    """A Segment client with its own queue and delivery thread.

    Calls validate and encode the message on the caller's thread, queue it and return
    in microseconds; a background thread sends batches. The keyword options, their
    defaults and checks are the registry in ``segment_web.core.options`` (the docs' options
    reference, ``docs/reference/options.md``): ``host``, ``flush_at``, ``flush_interval``,
    ``enable``, ``error_handler``, ``max_queue_size``, ``max_retries``, ``timeout``,
    ``gzip``, ``shutdown_timeout``, ``max_batch_size``, ``max_in_flight``,
    ``on_queue_full``, ``block_timeout``, ``before_send``,
    ``tracking_plan``, ``plan_mode``, ``allow_unplanned_events``,
    ``flush_on_signals``, ``spool_dir``, ``spool_max_bytes`` and
    ``spool_fsync_interval``, ``trace_context``; the HTTP options ``proxies``, ``verify``, ``cert``,
    ``headers`` and ``transport``; OAuth 2.0 with ``oauth_client_id``,
    ``oauth_client_key`` and ``oauth_key_id`` (and ``oauth_auth_server``,
    ``oauth_scope``; extra ``[oauth]``). A bad value raises ``ValueError`` naming the option.

    Durable delivery (``spool_dir``): every accepted message is written to a file in that
    directory before the call returns, and leaves it only once its batch is delivered,
    has finally failed, or was dropped (each reported as usual). Messages a process left
    there when it died (``kill -9``, OOM, a deploy) are taken over by the next client
    that starts, or is forked, with the same ``spool_dir``, write key and host (the
    files carry a hash of the pair, never the key), oldest first, and
    ``flush()`` waits for them too; running clients look for such spools every 10 s.
    Beyond ``max_queue_size`` messages wait on disk, up to ``spool_max_bytes`` (then
    they are dropped, reason ``"spool full"``). Delivery is at least once: after a crash
    the batches that were in flight are sent again (same messageIds, which Segment
    deduplicates): at most ``max_in_flight`` batches; a batch in flight when
    ``shutdown()`` runs out of time is reported ``LeftInSpool``, not failed.
    ``spool_fsync_interval`` bounds what a machine crash can lose (0: fsync every
    message, slow). A spool that cannot be written is logged, and the messages it refuses
    are kept in memory and reported through the ``spool_failed`` signal. The directory
    must be this user's and writable by no one else (it is made 0700, files 0600); see
    docs/durable-delivery.md.
    """

    def __init__(
        self,
        write_key: str = REQUIRED,
        *,
        # The keyword options, generated from the registry (make generate):
        # [[[cog
        # from segment_web.core.options import CLIENT_OPTIONS
        # for option in CLIENT_OPTIONS:
        #     if option.name != "write_key":  # above
        #         cog.outl(f"        {option.declaration()},")
        # ]]]
        host: str = "https://api.segment.io",
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
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 536_870_912,
        spool_fsync_interval: float = 1.0,
        max_batch_size: int = 500,
        max_in_flight: int = 12,
        on_queue_full: QueueFullMode = "drop",
        block_timeout: float = 10.0,
        before_send: Hooks = None,
        tracking_plan: TrackingPlan | str | os.PathLike[str] | None = None,
        plan_mode: PlanMode = "report",
        allow_unplanned_events: bool = False,
        trace_context: bool = False,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        cert: str | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
        oauth_client_id: str | None = None,
        oauth_client_key: str | None = None,
        oauth_key_id: str | None = None,
        oauth_auth_server: str = "https://oauth2.segment.io",
        oauth_scope: str = "tracking_api:write",
        # [[[end]]]
    ) -> None:
        if write_key is REQUIRED:
            raise ValueError("write_key is required: your Segment source's write key")
        if not isinstance(write_key, str) or not write_key.strip():
            raise ValueError(f"write_key must be a non-empty string, got {write_key!r}")
        self.write_key = write_key
        self.host = host
        self.endpoint = batch_endpoint(host)
        # Each value is checked (and normalised: flush_at below 1 becomes 1) by the one
        # option registry the adapters' settings also use.
        self.flush_at: int = require_option("flush_at", flush_at)
        self.flush_interval = float(require_option("flush_interval", flush_interval))
        self.enable: bool = require_option("enable", enable)
        self.error_handler: Callable[[Exception], Any] | None = require_option(
            "error_handler", error_handler
        )
        self.max_queue_size: int = require_option("max_queue_size", max_queue_size)
        self.max_retries: int = require_option("max_retries", max_retries)
        self.timeout = float(require_option("timeout", timeout))
        self.gzip: bool = require_option("gzip", gzip)
        self.shutdown_timeout = float(require_option("shutdown_timeout", shutdown_timeout))
        # A batch due at flush_at goes whole: never smaller than flush_at.
        self.max_batch_size: int = max(
            require_option("max_batch_size", max_batch_size), self.flush_at
        )
        self.max_in_flight: int = require_option("max_in_flight", max_in_flight)
        self.on_queue_full: QueueFullMode = require_option("on_queue_full", on_queue_full)
        self.block_timeout = float(require_option("block_timeout", block_timeout))
        self.before_send: Hooks = require_option("before_send", before_send)
        plan_check = PlanCheck.from_options(
            self,
            require_option("tracking_plan", tracking_plan),
            require_option("plan_mode", plan_mode),
            require_option("allow_unplanned_events", allow_unplanned_events),
        )
        self._chain = MessageChain(build_steps(before_send=before_send, plan_check=plan_check))
        self.spool_dir: str | os.PathLike[str] | None = require_option("spool_dir", spool_dir)
        self.spool_max_bytes: int = require_option("spool_max_bytes", spool_max_bytes)
        self.spool_fsync_interval = float(
            require_option("spool_fsync_interval", spool_fsync_interval)
        )

        self.trace_context: bool = require_option("trace_context", trace_context)
        self.http = HttpOptions(
            proxies=require_option("proxies", proxies),
            verify=require_option("verify", verify),
            cert=require_option("cert", cert),
            headers=require_option("headers", headers),
            transport=require_option("transport", transport),
        )
        self.oauth = _oauth_settings(
            require_option("oauth_client_id", oauth_client_id),
            require_option("oauth_client_key", oauth_client_key),
            require_option("oauth_key_id", oauth_key_id),
            require_option("oauth_auth_server", oauth_auth_server),
            require_option("oauth_scope", oauth_scope),
        )
        self._reporter = Reporter(self, error_handler)
        self._reporter.stats.label = key_label(write_key)
        transport = Transport(
            self.endpoint,
            write_key,
            timeout=self.timeout,
            gzip_bodies=gzip,
            stats=self._reporter.stats,
            http=self.http,
            oauth=self.oauth,
        )
        self._transport = transport
        self._spool: SpoolStore | None = None
        if spool_dir is not None:
            from segment_web.spool.disk_store import (
                open_spool_store,  # only clients with a spool load it
            )
            from segment_web.spool.files import tenant_of

            self._spool = open_spool_store(
                spool_dir,
                tenant_of(write_key, self.endpoint),
                max_queue_size,
                spool_max_bytes,
                self.spool_fsync_interval,
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
                durable=self._spool is not None,
            ),
            flush_at=self.flush_at,
            max_batch_size=self.max_batch_size,
            flush_interval=self.flush_interval,
            max_batch_bytes=MAX_BATCH_BYTES - envelope_overhead(write_key),
            max_queue_size=max_queue_size,
            shutdown_timeout=self.shutdown_timeout,
            max_in_flight=self.max_in_flight,
            on_queue_full=self.on_queue_full,
            block_timeout=self.block_timeout,
        )
        self.flush_on_signals: bool = require_option("flush_on_signals", flush_on_signals)
        registry.register(self, self._pipeline, flush_on_signals=self.flush_on_signals)

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

    def stats(self) -> Stats:
        """A snapshot of this client's counters (see ``Stats``): accepted, delivered,
        dropped by reason, retried, failed, in flight, queue depth and capacity, spool
        usage, the last success and failure, and a batch latency histogram."""
        spool = self._spool
        pipeline = self._pipeline
        return self._reporter.stats.snapshot(
            # The pipeline numbers every message it stores, under the lock it takes
            # anyway: read after the counters, so that none is delivered before accepted.
            stored=lambda: pipeline.enqueued,
            queue_depth=len(self._pipeline),
            queue_capacity=self.max_queue_size,
            batches_in_flight=self._pipeline.batches_in_flight,
            spool_dir=None if spool is None else spool.directory,
            enabled=self.enable,
        )

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
        if self.trace_context:
            fields = with_trace(fields)
        message, payload, drop = self._chain.run(kind, fields)
        message_id: str = message["messageId"]
        if drop is not None:
            self._reporter.dropped(
                [(payload, callback)], drop.reason, [message], log=not drop.expected
            )
            return message_id
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
        self._reporter.stats.captured()
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


def _oauth_settings(
    client_id: str | None, client_key: str | None, key_id: str | None, server: str, scope: str
) -> OAuthSettings | None:
    problem = check_oauth(client_id, client_key, key_id)
    if problem is not None:
        raise ValueError(problem)
    if client_id is None or client_key is None or key_id is None:
        return None
    return OAuthSettings(client_id, client_key, key_id, server, scope)
