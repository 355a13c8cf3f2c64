"""Delivering one batch: POST it (with retries) and report what became of it."""

from __future__ import annotations

import threading

from segment_web.delivery.batch import Batch
from segment_web.delivery.entry import Entry
from segment_web.delivery.reporting import Reporter
from segment_web.delivery.transport import RetryPolicy, Transport
from segment_web.errors import DeliveryError
from segment_web.wire.timestamps import format_timestamp


class Deliverer:
    """Sends the batches of one client; called by its delivery thread only."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy,
        reporter: Reporter,
        *,
        write_key: str,
        enabled: bool,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.reporter = reporter
        self.write_key = write_key
        self.enabled = enabled
        self.abort = threading.Event()  # cuts retry waits short when shutdown time is up

    def deliver(self, entries: list[Entry]) -> Exception | None:
        """POST one batch and report it; returns its final error, None when delivered."""
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

    def close(self) -> None:
        """Close the connection to the endpoint (the delivery thread's, at its end)."""
        self.transport.close()

    def reset_after_fork(self) -> None:
        self.abort = threading.Event()
        self.transport.reset_after_fork()
        self.reporter.reset_after_fork()
