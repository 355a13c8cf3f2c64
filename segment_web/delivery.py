"""The delivery thread of one client: take a due batch, POST it, report, repeat."""

from __future__ import annotations

import logging
import threading

from .batch import Batch
from .errors import DeliveryError
from .message import format_timestamp
from .queue import BatchQueue, Entry
from .reporting import Reporter
from .transport import RetryPolicy, Transport

logger = logging.getLogger("segment_web")


class DeliveryThread:
    def __init__(
        self,
        queue: BatchQueue,
        transport: Transport,
        policy: RetryPolicy,
        reporter: Reporter,
        *,
        write_key: str,
        enabled: bool,
    ) -> None:
        self.queue = queue
        self.transport = transport
        self.policy = policy
        self.reporter = reporter
        self.write_key = write_key
        self.enabled = enabled
        self.abort = threading.Event()  # cuts retry waits short when shutdown time is up
        self._thread: threading.Thread | None = None
        # Callers on many threads may find the thread missing at once; only one may start it,
        # since two threads taking batches would complete them out of order.
        self._start_lock = threading.Lock()

    def ensure_running(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="segment_web-delivery", daemon=True
                )
                self._thread.start()

    def is_current_thread(self) -> bool:
        return self._thread is not None and self._thread is threading.current_thread()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None) -> None:
        if self._thread is not None and not self.is_current_thread():
            self._thread.join(timeout)

    def forget_thread(self) -> None:
        """After a fork the parent's thread does not exist in the child."""
        self._thread = None
        self.abort = threading.Event()
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        while True:
            item = self.queue.next_batch()
            if item is None:
                return
            first, entries = item
            error: Exception | None = None
            try:
                error = self._deliver(entries)
            except Exception as unexpected:  # a bug must not kill the thread or lose messages
                logger.exception("segment_web: delivery failed unexpectedly")
                error = unexpected
            finally:
                self.queue.complete(first, len(entries), error)

    def _deliver(self, entries: list[Entry]) -> Exception | None:
        batch = Batch([payload for payload, _ in entries])
        if not self.enabled:
            self.reporter.delivered(batch, entries, None)
            return None
        try:
            status = self.transport.send(
                lambda: batch.body(format_timestamp(None), self.write_key), self.policy, self.abort
            )
        except DeliveryError as error:
            self.reporter.failed(batch, entries, error)
            return error
        self.reporter.delivered(batch, entries, status)
        return None
