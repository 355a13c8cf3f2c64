"""The bounded message queue and the decision of when a batch is due.

Callers ``put`` encoded messages; the delivery thread calls ``next_batch``, which
blocks until a batch is due by count (``flush_at``), bytes, time (``flush_interval``),
the very first message, or a flush request, and hands out at most ``flush_at``
messages that fit in one request body. Messages are numbered by arrival, which is
what lets ``flush()`` wait for exactly the messages queued before it.

A queued message is only its encoded bytes: callbacks, which few calls give, wait in a
side table keyed by the message's number. A backlog of 10,000 messages (an outage)
then costs little more than their JSON.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batch import Batch

Callback = Callable[[Exception | None, "Batch"], None]
Entry = tuple[bytes, Callback | None]


class FlushWaiter:
    """What one ``flush()`` waits for: the messages numbered ``start+1 .. target``."""

    __slots__ = ("delivered", "done", "error", "start", "target")

    def __init__(self, start: int, target: int) -> None:
        self.start = start
        self.target = target
        self.delivered = 0
        self.error: Exception | None = None
        self.done = threading.Event()


class BatchQueue:
    def __init__(
        self,
        *,
        flush_at: int,
        flush_interval: float,
        max_size: int,
        max_batch_bytes: int,
    ) -> None:
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        self.max_size = max_size
        self.max_batch_bytes = max_batch_bytes
        self.send_first = True
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._entries: deque[bytes] = deque()
        self._callbacks: dict[int, Callback] = {}  # message number -> its callback
        self._bytes = 0  # payload bytes plus one comma each
        self._deadline = 0.0
        self._flush_target = 0
        self._closing = False
        self._waiters: list[FlushWaiter] = []
        self.enqueued = 0  # messages ever accepted; the newest one's number
        self.taken = 0  # messages handed to the delivery thread
        self.processed = 0  # messages whose batch was delivered or finally failed

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def in_flight(self) -> int:
        return self.taken - self.processed

    def put(self, payload: bytes, callback: Callback | None = None) -> bool:
        """Queue one message; False (and nothing queued) when the queue is full."""
        with self._cond:
            entries = self._entries
            if len(entries) >= self.max_size:
                return False
            entries.append(payload)
            self._bytes += len(payload) + 1
            self.enqueued += 1
            if callback is not None:
                self._callbacks[self.enqueued] = callback
            count = len(entries)
            if count == 1:
                self._deadline = time.monotonic() + self.flush_interval
                self._cond.notify()
            elif count == self.flush_at or (
                self._bytes >= self.max_batch_bytes > self._bytes - len(payload) - 1
            ):
                self._cond.notify()  # once, as the batch becomes due; it stays due until taken
            backlogged = count >= 2 * self.flush_at and count % self.flush_at == 0
        if backlogged:
            # A caller that never blocks keeps the GIL: the delivery thread gets it back
            # only at the interpreter's 5 ms switch, falls behind, and the backlog grows
            # (memory, then drops). Offering the GIL once a batch while a backlog exists
            # lets delivery keep pace, at the cost of one call in flush_at waiting briefly.
            time.sleep(0)
        return True

    def next_batch(self) -> tuple[int, list[Entry]] | None:
        """Block until a batch is due; return (number before its first message, entries).

        Returns None once the queue is closed and empty.
        """
        with self._cond:
            while True:
                if self._entries:
                    wait = self._due_in()
                    if wait <= 0:
                        return self._take()
                elif self._closing:
                    return None
                else:
                    wait = None
                self._cond.wait(wait)

    def _due_in(self) -> float:
        if (
            self.send_first
            or self._closing
            or self._flush_target > self.taken
            or len(self._entries) >= self.flush_at
            or self._bytes >= self.max_batch_bytes
        ):
            return 0.0
        return self._deadline - time.monotonic()

    def _take(self) -> tuple[int, list[Entry]]:
        entries = self._entries
        limit = self.flush_at
        if self.send_first and not self._closing and self._flush_target <= self.taken:
            # The very first message goes out at once and alone (as the seed does), not
            # with whatever other callers queued before this thread woke up.
            limit = 1
        batch = [entries.popleft()]
        size = len(batch[0]) + 1
        while entries and len(batch) < limit:
            next_size = len(entries[0]) + 1
            if size + next_size > self.max_batch_bytes:
                break
            batch.append(entries.popleft())
            size += next_size
        self._bytes -= size
        first = self.taken
        self.taken += len(batch)
        self.send_first = False
        self._deadline = time.monotonic() + self.flush_interval
        return first, self._with_callbacks(first, batch)

    def _with_callbacks(self, first: int, payloads: list[bytes]) -> list[Entry]:
        pop = self._callbacks.pop
        if not self._callbacks:
            return [(payload, None) for payload in payloads]
        return [(payload, pop(first + n, None)) for n, payload in enumerate(payloads, 1)]

    def complete(self, first: int, count: int, error: Exception | None) -> None:
        """Record that messages ``first+1 .. first+count`` are delivered or finally failed."""
        with self._cond:
            end = first + count
            self.processed = max(self.processed, end)
            still_waiting = []
            for waiter in self._waiters:
                overlap = min(end, waiter.target) - max(first, waiter.start)
                if overlap > 0:
                    if error is None:
                        waiter.delivered += overlap
                    else:
                        waiter.error = error
                if self.processed >= waiter.target:
                    waiter.done.set()
                else:
                    still_waiting.append(waiter)
            self._waiters = still_waiting

    def request_flush(self) -> FlushWaiter:
        """Make everything queued so far due now; the waiter is done when it is processed."""
        with self._cond:
            waiter = FlushWaiter(self.processed, self.enqueued)
            if self.enqueued > self.processed:
                self._waiters.append(waiter)
                self._flush_target = max(self._flush_target, self.enqueued)
                self._cond.notify()
            else:
                waiter.done.set()
            return waiter

    def drain(self) -> tuple[int, list[Entry]]:
        """Remove every queued (not in-flight) message, for reporting it as dropped."""
        with self._cond:
            first = self.taken
            payloads = list(self._entries)
            self._entries.clear()
            self._bytes = 0
            self.taken += len(payloads)
            return first, self._with_callbacks(first, payloads)

    def close(self) -> None:
        """Make the remaining messages due; ``next_batch`` returns None once they are out."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def reset_after_fork(self) -> None:
        """In a forked child: start empty with fresh locks (the parent sends its own messages)."""
        self._reset()
