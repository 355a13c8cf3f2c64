"""Telling the user what became of each message: callbacks, signals, error handler, log."""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from blinker import NamedSignal

from segment_web import signals
from segment_web.delivery.batch import Batch
from segment_web.delivery.entry import Entry
from segment_web.delivery.stats import DeliveryStats, error_type
from segment_web.errors import MessageDropped

logger = logging.getLogger("segment_web")

DROP_LOG_INTERVAL = 5.0  # seconds; a flood of drops is logged as counts, not line by line


class Reporter:
    """Reports on behalf of one client (the sender of every signal).

    The client is held weakly: the delivery thread reports through this object, and must
    not keep a client the application dropped alive. Batches still delivered after the
    client was collected are signalled with ``None`` as sender.
    """

    def __init__(self, sender: object, error_handler: Callable[[Exception], Any] | None) -> None:
        self._sender = weakref.ref(sender)
        self.error_handler = error_handler
        self._drop_lock = threading.Lock()
        self._drops_unlogged: dict[str, int] = {}
        self._last_drop_log = 0.0
        self.stats = DeliveryStats()

    @property
    def sender(self) -> object:
        return self._sender()

    def queued(self, message: Mapping[str, Any]) -> None:
        if signals.message_queued.receivers:
            self._signal(signals.message_queued, message=message)

    def delivered(self, batch: Batch, entries: Iterable[Entry], status: int | None) -> None:
        self.stats.delivered(len(batch))
        if status is not None and signals.batch_sent.receivers:
            self._signal(signals.batch_sent, batch=batch, status=status)
        self._callbacks(entries, None, batch)

    def failed(self, batch: Batch, entries: Iterable[Entry], error: Exception) -> None:
        self.stats.failed(len(batch), error_type(getattr(error, "status", None)))
        if signals.batch_failed.receivers:
            self._signal(signals.batch_failed, batch=batch, error=error)
        self._callbacks(entries, error, batch)
        # Logged once per batch in any case; an error_handler makes it a warning, since
        # the application handles the failure itself.
        level = logging.ERROR if self.error_handler is None else logging.WARNING
        count = len(batch)
        logger.log(
            level,
            "segment_web: a batch of %d message%s failed: %s",
            count,
            "" if count == 1 else "s",
            error,
        )
        if self.error_handler is not None:
            try:
                self.error_handler(error)
            except Exception:
                logger.exception("segment_web: the error_handler raised")

    def dropped(
        self,
        entries: list[Entry],
        reason: str,
        messages: list[Mapping[str, Any]] | None = None,
        *,
        log: bool = True,
    ) -> None:
        """Report messages that will never be sent: signal and callback each, log a count.

        ``log=False`` for drops that are no problem (a before_send hook's choice).
        """
        if not entries:
            return
        self.stats.dropped(len(entries), reason)
        batch = Batch([payload for payload, _ in entries])
        if signals.message_dropped.receivers:
            for message in messages if messages is not None else batch.messages:
                self._signal(
                    signals.message_dropped,
                    message=message,
                    message_id=message["messageId"],
                    reason=reason,
                )
        self._callbacks(entries, MessageDropped(reason), batch)
        if log:
            self._log_drops(len(entries), reason)

    def unreadable(self, entries: list[Entry], reason: str) -> None:
        """Report records read back from a spool that are no message (planted, or damage
        the checksum missed): dropped, with no message to show."""
        if signals.message_dropped.receivers:
            for _ in entries:
                self._signal(signals.message_dropped, message=None, message_id="", reason=reason)
        self._callbacks(entries, MessageDropped(reason), Batch([]))
        self._log_drops(len(entries), reason)

    def left_in_spool(self, batch: Batch, entries: Iterable[Entry], error: Exception) -> None:
        """A batch in flight at shutdown stays in the spool for the next process: its
        callbacks get ``error`` (not a failure: the app must not send it again)."""
        self._callbacks(entries, error, batch)
        count = len(batch)
        logger.warning(
            "segment_web: a batch of %d message%s is left in the spool for the next process",
            count,
            "" if count == 1 else "s",
        )

    def not_spooled(self, unspooled: deque[tuple[bytes, OSError]]) -> None:
        """Report messages the spool could not take (kept in memory only): one signal
        each; the spool logs the failure itself, once."""
        while unspooled:
            payload, error = unspooled.popleft()
            if signals.spool_failed.receivers:
                message_id = json.loads(payload)["messageId"]
                self._signal(signals.spool_failed, message_id=message_id, error=error)

    def _signal(self, signal: NamedSignal, **kwargs: Any) -> None:
        # A receiver's bug must not skip the callbacks after it, nor reach a caller.
        try:
            signal.send(self.sender, **kwargs)
        except Exception:
            logger.exception("segment_web: a receiver of the %s signal raised", signal.name)

    def _callbacks(self, entries: Iterable[Entry], error: Exception | None, batch: Batch) -> None:
        for _, callback in entries:
            if callback is not None:
                try:
                    callback(error, batch)
                except Exception:
                    logger.exception("segment_web: a message callback raised")

    def _log_drops(self, count: int, reason: str) -> None:
        with self._drop_lock:
            self._drops_unlogged[reason] = self._drops_unlogged.get(reason, 0) + count
            now = time.monotonic()
            if self._last_drop_log and now - self._last_drop_log < DROP_LOG_INTERVAL:
                return
            counts, self._drops_unlogged = self._drops_unlogged, {}
            self._last_drop_log = now
        _log_drop_counts(counts)

    def reset_after_fork(self) -> None:
        """A thread of the parent may have held the lock at fork time."""
        self._drop_lock = threading.Lock()
        self.stats.reset_after_fork()

    def flush_drop_log(self) -> None:
        """Log drops still held back by the rate limit (at shutdown)."""
        with self._drop_lock:
            counts, self._drops_unlogged = self._drops_unlogged, {}
        _log_drop_counts(counts)


def _log_drop_counts(counts: dict[str, int]) -> None:
    for why, number in counts.items():
        logger.warning("segment_web: dropped %d message(s): %s", number, why)
