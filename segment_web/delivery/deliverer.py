"""Delivering one batch: POST it (with retries) and report what became of it."""

from __future__ import annotations

import json
import threading

from segment_web.delivery.batch import Batch
from segment_web.delivery.entry import Entry
from segment_web.delivery.reporting import Reporter
from segment_web.delivery.transport import RetryPolicy, Transport
from segment_web.errors import DeliveryError, GaveUpAtShutdown, LeftInSpool
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
        durable: bool = False,
    ) -> None:
        self.durable = durable  # a batch not delivered at shutdown stays in a spool
        self.transport = transport
        self.policy = policy
        self.reporter = reporter
        self.write_key = write_key
        self.enabled = enabled
        self.abort = threading.Event()  # cuts retry waits short when shutdown time is up

    def deliver(self, entries: list[Entry]) -> Exception | None:
        """POST one batch and report it; returns its final error, None when delivered."""
        if not entries:
            return None
        batch = Batch([payload for payload, _ in entries])
        if not self.enabled:
            self.reporter.delivered(batch, entries, None)
            return None
        try:
            status = self.transport.send(
                lambda: batch.body(format_timestamp(None), self.write_key), self.policy, self.abort
            )
        except GaveUpAtShutdown as error:
            if not self.durable:
                self.reporter.failed(batch, entries, error)
                return error
            left = LeftInSpool(f"left in the spool for the next process ({error})")
            self.reporter.left_in_spool(batch, entries, left)
            return left
        except DeliveryError as error:
            self.reporter.failed(batch, entries, error)
            return error
        self.reporter.delivered(batch, entries, status)
        return None

    def verified(self, entries: list[Entry]) -> list[Entry]:
        """The entries whose payload is one JSON object, fit to join a request body; each
        other one (read back from a spool: planted, or damage the checksum missed) is
        reported dropped, alone."""
        verified = []
        for entry in entries:
            problem = record_problem(entry[0])
            if problem is None:
                verified.append(entry)
            else:
                self.reporter.unreadable([entry], f"a message read back from the spool {problem}")
        return verified

    def close(self) -> None:
        """Close the connection to the endpoint (the delivery thread's, at its end)."""
        self.transport.close()

    def reset_after_fork(self) -> None:
        self.abort = threading.Event()
        self.transport.reset_after_fork()
        self.reporter.reset_after_fork()


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def record_problem(payload: bytes) -> str | None:
    """Why ``payload`` cannot join a request body (None: it can): it must be one JSON
    object, so that no record can break the body or add keys to it."""
    try:
        message = json.loads(payload, parse_constant=_refuse_constant)
    except ValueError as error:  # UnicodeDecodeError included
        return f"is not valid JSON ({error})"
    if not isinstance(message, dict):
        return f"is not a JSON object (a {type(message).__name__})"
    return None
