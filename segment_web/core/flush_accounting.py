"""The bookkeeping behind ``flush()``: which messages a flush waits for, and how many
delivered messages it counts.

Pure: no locks, threads or clocks. The pipeline calls it under its own lock and turns
what it answers into wake-ups.

Messages are numbered 1, 2, ... as they are accepted (``accepted`` is the newest number;
the pipeline increments it inline, on its hot path). Batches are taken in that order,
each the ``size`` messages after its ``first``, and finish in any order. A flush waits
for the messages numbered up to ``accepted`` at its call: it is satisfied once none of
them is pending or in a batch in flight.

The count (PRODUCT.md): a flush returns the number of messages delivered since the
previous flush returned (or the client started) among those queued before the call.
With several flushes at once, each delivered message is counted once, by the first of
them to return after its delivery among those called after it was queued. A batch
delivered with some of its messages left out counts only the rest (the accounting knows
how many, not which: the first ones of the batch count).
"""

from __future__ import annotations

from typing import Generic, TypeVar


class FlushMark:
    """One flush: waits for the messages numbered up to ``target``; ``error`` is that of
    the last batch among them that finally failed while it waited."""

    __slots__ = ("error", "target")

    def __init__(self) -> None:
        self.target = 0  # set by FlushAccounting.request
        self.error: Exception | None = None


Mark = TypeVar("Mark", bound=FlushMark)


class FlushAccounting(Generic[Mark]):
    """Message numbers, batches in flight and flushes of one pipeline (see the module
    docstring)."""

    __slots__ = (
        "_marks",
        "_uncounted",
        "_uncounted_batches",
        "accepted",
        "flush_target",
        "in_flight",
        "taken",
    )

    def __init__(self, accepted: int = 0) -> None:
        # Messages a store held before the client started have the first numbers.
        self.accepted = accepted  # messages ever numbered; the newest one's number
        self.taken = 0  # messages handed out in batches (or given up)
        self.in_flight: dict[int, int] = {}  # an unfinished batch's first -> its size
        self.flush_target = 0  # messages up to this number are due now: a flush waits
        self._marks: list[Mark] = []  # flushes that have not returned
        # Delivered messages no returned flush has counted yet: a plain count of those
        # delivered while no flush was waiting (below the target of any later one), and
        # the batches delivered while some flush was waiting (below some targets only).
        self._uncounted = 0
        self._uncounted_batches: list[tuple[int, int]] = []

    # -- batches -----------------------------------------------------------------------

    def take(self, size: int) -> int:
        """The next ``size`` messages were taken as a batch: its ``first``."""
        first = self.taken
        self.taken = first + size
        self.in_flight[first] = size
        return first

    def finish(self, first: int, error: Exception | None, dropped: int = 0) -> list[Mark]:
        """The batch taken at ``first`` was delivered (``error`` None; ``dropped`` of its
        messages left out) or finally failed: the flushes satisfied now."""
        self._record(first, self.in_flight.pop(first, 0), error, dropped)
        return self._satisfied()

    def fail_in_flight(self, error: Exception) -> list[Mark]:
        """Every batch in flight failed with ``error``: the flushes satisfied now."""
        for first, size in list(self.in_flight.items()):
            del self.in_flight[first]
            self._record(first, size, error, 0)
        return self._satisfied()

    def give_up(self, count: int, error: Exception) -> list[Mark]:
        """The next ``count`` messages, never taken, failed with ``error`` (dropped at
        shutdown): the flushes satisfied now."""
        first = self.taken
        self.taken = first + count
        self._record(first, count, error, 0)
        return self._satisfied()

    def _record(self, first: int, size: int, error: Exception | None, dropped: int) -> None:
        if error is None:
            if self._marks:
                self._uncounted_batches.append((first, size - dropped))
            else:
                self._uncounted += size - dropped
        else:
            for mark in self._marks:
                if first < mark.target:
                    mark.error = error

    def _satisfied(self) -> list[Mark]:
        if not self._marks:
            return []
        lowest_unfinished = min(self.in_flight, default=self.taken)
        return [mark for mark in self._marks if lowest_unfinished >= mark.target]

    def messages_in_flight(self) -> int:
        return sum(self.in_flight.values())

    def unfinished_up_to(self, target: int) -> int:
        """Messages numbered up to ``target`` still pending or in flight."""
        pending = max(target - self.taken, 0)
        return pending + sum(
            min(first + size, target) - first
            for first, size in self.in_flight.items()
            if first < target
        )

    # -- flushes -----------------------------------------------------------------------

    def request(self, mark: Mark) -> bool:
        """A flush begins, waiting for every message numbered so far; True when none is
        left to wait for. Otherwise they are due now (``flush_due``)."""
        mark.target = self.accepted
        self._marks.append(mark)
        if self.satisfied(mark):
            return True
        self.flush_target = max(self.flush_target, mark.target)
        return False

    def flush_due(self) -> bool:
        """Whether a flush waits for messages not taken yet."""
        return self.flush_target > self.taken

    def satisfied(self, mark: Mark) -> bool:
        """Whether none of the messages ``mark`` waits for is pending or in flight."""
        return min(self.in_flight, default=self.taken) >= mark.target

    def count(self, mark: Mark) -> int:
        """The flush of ``mark`` returns (done or not): how many delivered messages it
        counts."""
        self._marks.remove(mark)
        counted, self._uncounted = self._uncounted, 0
        later: list[tuple[int, int]] = []
        for first, size in self._uncounted_batches:
            below = min(max(mark.target - first, 0), size)
            counted += below
            if size > below:
                later.append((first + below, size - below))
        if self._marks:
            self._uncounted_batches = later
        else:  # any later flush waits for all of them
            self._uncounted_batches = []
            self._uncounted = sum(size for _, size in later)
        return counted
