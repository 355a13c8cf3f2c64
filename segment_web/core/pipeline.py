"""One client's messages from acceptance to report: the owner of the delivery pipeline.

``Pipeline`` owns the message store, the rule of when a batch is due, the delivery
thread, the accounting ``flush()`` relies on (a ``FlushAccounting``), shutdown and the
reset in a forked child, all under one lock. A batch is due when

- it is the very first message (sent at once and alone, unless ``flushed`` was set),
- ``flush_at`` messages are pending, or their bytes fill a request body,
- ``flush_interval`` passed since the first pending message arrived or the last batch
  was taken,
- a ``flush()`` waits for a pending message, or the client is shutting down.

A due batch takes the oldest pending messages: up to ``max_batch_size`` of them (more
than ``flush_at`` only when a backlog built up) and never more than a request body holds.

Up to ``max_in_flight`` batches are delivered at once, each by a sender thread of its
own over a kept-alive connection: one sender starts with the first message, and a sender
that takes a batch while more are due and no other sender waits starts another. Senders
beyond the first end after ``SENDER_IDLE`` seconds without work. A durable store may hold
senders back (``MessageStore.unsettled``): a spool keeps at most ``max_in_flight`` batches
unsettled, which bounds what a crash sends again. Batches complete in any order.

Messages are numbered by arrival. ``flush()`` waits until no message numbered up to the
newest at its call is pending or in a batch in flight, which holds however many batches
are in flight at once; ``core.flush_accounting`` keeps that bookkeeping and the count
each ``flush()`` returns.

A full store refuses a message: with ``on_queue_full="block"`` the caller waits (up to
``block_timeout``) for a sender to take a batch and make room, then tries again.

The senders hold the pipeline, never the client: a client the application drops is
collected, and the senders then send what is left and end (see ``watch()``).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal

from segment_web.core import capture
from segment_web.core.flush_accounting import FlushAccounting, FlushMark
from segment_web.delivery.entry import Callback, Entry
from segment_web.errors import ClientClosedError, DeliveryError, LeftInSpool
from segment_web.fork_mark import ForkMark
from segment_web.store import MessageStore, TakenBatch, queue_full

if TYPE_CHECKING:
    from segment_web.delivery.deliverer import Deliverer

logger = logging.getLogger("segment_web")

CAPTURED: Final = "captured"  # accept(): the message went to a test capture, not the store
_FLUSH_POLL = 0.25  # how often a waiting flush checks that the delivery thread still lives
OWNER_CHECK = 1.0  # how often an idle delivery thread checks that its client still lives
SENDER_IDLE = 30.0  # seconds without a batch after which a sender beyond the first ends
# Batches in flight at once by default: at 100 ms per POST and batches of up to 500
# messages, enough for 20,000 events/s with room for retries.
DEFAULT_MAX_IN_FLIGHT: Final = 12

QueueFullMode = Literal["drop", "block"]
QUEUE_FULL_MODES: Final[tuple[QueueFullMode, ...]] = ("drop", "block")

# Serializes the resets of a child forked without Python's at-fork hooks. Only ever held
# just after such a fork, so a parent thread cannot have held it at the fork.
_unhooked_fork_reset = threading.Lock()


class FlushWaiter(FlushMark):
    """One ``flush()`` call: its mark in the accounting, and the event it waits on."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()


class Pipeline:
    """The delivery pipeline of one client (see the module docstring)."""

    def __init__(
        self,
        store: MessageStore,
        deliverer: Deliverer,
        *,
        flush_at: int,
        max_batch_size: int,
        flush_interval: float,
        max_batch_bytes: int,
        max_queue_size: int,
        shutdown_timeout: float,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        on_queue_full: QueueFullMode = "drop",
        block_timeout: float = 0.0,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.flush_at = flush_at
        self.max_batch_size = max_batch_size
        self.flush_interval = flush_interval
        self.max_batch_bytes = max_batch_bytes
        self.max_queue_size = max_queue_size
        self.shutdown_timeout = shutdown_timeout
        self.max_in_flight = max_in_flight
        self.block_timeout = block_timeout if on_queue_full == "block" else None
        self.send_first = True
        self.closed = False  # shutdown ran: no more messages, no new delivery thread
        self._owner: Callable[[], object | None] = weakref.ref(self)  # until watch()
        self._store_closed = False
        self._fork_mark = ForkMark()  # moved() in a child forked since: reset first
        self._reset()
        if self.store:  # messages from before this client started: deliver them now
            with self._cond:
                self._start_thread()
        store.watch(self._deliver_recovered)

    def _reset(self, condition: threading.Condition | None = None) -> None:
        self._cond = condition if condition is not None else threading.Condition()
        self._thread: threading.Thread | None = None  # the first sender (started alone)
        self._senders: set[threading.Thread] = set()  # started and not yet ended
        self._idle = 0  # senders waiting for a batch
        self._blocked = 0  # callers waiting for room (on_queue_full="block")
        self._callbacks: dict[int, Callback] = {}  # message number -> its callback
        self._deadline = 0.0
        self._closing = self.closed  # send everything pending, then end the thread
        # Message numbers, batches in flight and flush() calls; read and changed under
        # the lock. Messages the store held before this client started come first.
        self._accounting: FlushAccounting[FlushWaiter] = FlushAccounting(len(self.store))

    def __len__(self) -> int:
        self._reset_if_forked()
        return len(self.store)

    @property
    def enqueued(self) -> int:
        """Messages ever accepted: the newest one's number."""
        return self._accounting.accepted

    @property
    def in_flight(self) -> int:
        """Messages in batches being delivered."""
        with self._cond:
            return self._accounting.messages_in_flight()

    @property
    def batches_in_flight(self) -> int:
        return len(self._accounting.in_flight)  # read without the lock: one len() of a dict

    # -- the caller's side -------------------------------------------------------------

    def accept(self, payload: bytes, callback: Callback | None) -> str | None:
        """Store one encoded message: None when stored, ``CAPTURED`` when a test capture
        took it instead, else the reason it was refused.

        Raises ``ClientClosedError`` once shut down, checked under the lock so that a call
        racing ``shutdown()`` can neither slip a message past its drain nor start a
        delivery thread after its join.
        """
        if self._fork_mark.moved():  # inline on this path: one call less per message
            self._reset_if_forked()
        with self._cond:
            if self.closed:
                raise ClientClosedError("this Analytics client was shut down; create a new one")
            if capture.sinks:
                return self._capture_bound()
            store = self.store
            refused = store.append(payload)
            if refused is not None:
                if self.block_timeout is None or self.is_delivery_thread():
                    return refused  # (a callback waiting for room would wait for itself)
                refused = self._wait_for_room(payload, refused)
                if refused is not None:
                    return refused
            accounting = self._accounting
            accounting.accepted += 1
            if callback is not None:
                self._callbacks[accounting.accepted] = callback
            count = len(store)
            if count == 1:
                self._deadline = time.monotonic() + self.flush_interval
                self._cond.notify()
            elif count == self.flush_at or (
                store.pending_bytes >= self.max_batch_bytes > store.pending_bytes - len(payload) - 1
            ):
                self._cond.notify()  # once, as the batch becomes due; it stays due until taken
            if not self._senders:  # never started, or ended (see _run)
                self._start_thread()
            backlogged = count >= 2 * self.flush_at and count % self.flush_at == 0
        if backlogged:
            # A caller that never blocks keeps the GIL: the delivery thread gets it back
            # only at the interpreter's 5 ms switch, falls behind, and the backlog grows
            # (memory, then drops). Offering the GIL once a batch while a backlog exists
            # lets delivery keep pace, at the cost of one call in flush_at waiting briefly.
            time.sleep(0)
        return None

    def _wait_for_room(self, payload: bytes, refused: str | None) -> str | None:
        """Under the lock, after the store refused ``payload``: wait up to
        ``block_timeout`` for room, trying again whenever a batch was taken; None when
        the store kept it, else the last refusal."""
        assert self.block_timeout is not None
        deadline = time.monotonic() + self.block_timeout
        self._blocked += 1
        try:
            while refused is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return refused
                if not self._senders:
                    self._start_thread()
                # A full store is a due batch, so senders were woken already; a taken or
                # acknowledged batch wakes this caller.
                self._cond.wait(left)
                if self.closed:  # shut down meanwhile: the store takes nothing more
                    return "the client was shut down before it could be queued"
                refused = self.store.append(payload)
            return None
        finally:
            self._blocked -= 1

    def _capture_bound(self) -> str | None:
        # A capture stands for the store and its delivery: the bound still applies to
        # whatever is pending from before the capture began.
        if len(self.store) >= self.max_queue_size:
            return queue_full(self.max_queue_size)
        return CAPTURED

    # -- the delivery thread -----------------------------------------------------------

    def _start_thread(self) -> None:
        # Under the lock: only one first sender is started, and never once shutdown began.
        self._thread = self._start_sender()

    def _start_sender(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="segment_web-delivery", daemon=True)
        self._senders.add(thread)
        thread.start()
        return thread

    def _deliver_recovered(self) -> None:
        """The store found messages on a thread of its own (the spool of a process that
        died beside this one): a client that has had no call yet has no sender to take
        them over, so one is started. Never blocks: while the lock is busy (a caller, or
        a shutdown joining that very thread) it does nothing, and the store calls again
        on its next pass. A forked child starts its sender at its first call, as ever."""
        if self._fork_mark.moved() or not self._cond.acquire(blocking=False):
            return
        try:
            if self.closed:
                return
            if self._senders:
                self._cond.notify()  # an idle sender calls recover() now
            else:
                self._start_thread()
        finally:
            self._cond.release()

    def is_delivery_thread(self) -> bool:
        """Whether the current thread is one of this pipeline's senders."""
        return threading.current_thread() in self._senders

    @property
    def delivery_thread(self) -> threading.Thread | None:
        """The first sender (the one started with the first message)."""
        return self._thread

    @property
    def senders(self) -> int:
        """Sender threads running now."""
        return len(self._senders)

    def _run(self) -> None:
        try:
            while True:
                item = self._next_batch()
                if item is None:  # shut down (or the client collected): nothing more to send
                    return
                first, taken, entries = item
                error: Exception | None = None
                dropped = 0
                try:
                    if taken.check:  # read back from a file: each message verified first
                        checked = self.deliverer.verified(entries)
                        dropped, entries = len(entries) - len(checked), checked
                    error = self.deliverer.deliver(entries)
                except Exception as unexpected:  # a bug must not kill the thread or lose messages
                    logger.exception("segment_web: delivery failed unexpectedly")
                    error = unexpected
                finally:
                    self.complete(first, taken, error, dropped)
        finally:
            # Ended, even by a BaseException from a callback: the next accepted message
            # starts a new thread when none is left. (A set read on every call, where
            # Thread.is_alive() is two Python calls.)
            with self._cond:
                self._senders.discard(threading.current_thread())
                last = not self._senders
            if last:
                self.deliverer.close()

    def _next_batch(self) -> tuple[int, TakenBatch, list[Entry]] | None:
        """Block until a batch is due and take it; None once closing with nothing left,
        or when this sender (not the first) had nothing to do for ``SENDER_IDLE``."""
        me = threading.current_thread()
        idle_until = time.monotonic() + SENDER_IDLE
        with self._cond:
            while True:
                if self._owner() is None:
                    self._closing = True  # the client was collected: send the rest, then end
                # Once shut down, what a durable store kept is for a later process.
                if self.closed or (self._closing and not self.store):
                    # The last batch out acknowledges, then closes the store.
                    if not self._accounting.in_flight:
                        self._close_store()
                    return None
                recovered = self.store.recover()
                if recovered:  # a spool of a process that died meanwhile: number it now
                    self._accounting.accepted += recovered
                wait = self._due_in() if self.store else None
                if wait is not None and self.store.unsettled >= self.max_in_flight:
                    wait = None  # a durable store's window is full: a completion notifies
                if wait is not None and wait <= 0:
                    return self._take()
                if me is not self._thread and time.monotonic() >= idle_until:
                    return None
                self._idle += 1
                try:
                    self._cond.wait(OWNER_CHECK if wait is None else min(wait, OWNER_CHECK))
                finally:
                    self._idle -= 1

    def _due_in(self) -> float:
        if (
            self.send_first
            or self._closing
            or self._accounting.flush_due()
            or len(self.store) >= self.flush_at
            or self.store.pending_bytes >= self.max_batch_bytes
        ):
            return 0.0
        return self._deadline - time.monotonic()

    def _take(self) -> tuple[int, TakenBatch, list[Entry]]:
        limit = self.max_batch_size
        if self.send_first and not self._closing and not self._accounting.flush_due():
            # The very first message goes out at once and alone (as Segment's Node
            # library does), not with whatever other callers queued before this thread
            # woke up.
            limit = 1
        taken = self.store.take(limit, self.max_batch_bytes)
        first = self._accounting.take(len(taken.payloads))
        self.send_first = False
        self._deadline = time.monotonic() + self.flush_interval
        if self._blocked:
            self._cond.notify_all()  # room for the callers waiting for it
        if (
            not self._idle
            and len(self._senders) < self.max_in_flight
            and self.store
            and self._due_in() <= 0
            and self.store.unsettled < self.max_in_flight
        ):
            # More is due than this sender takes: a backlog, or a distant API. Another
            # sender delivers it meanwhile (started here, never on the caller's thread).
            self._start_sender()
        return first, taken, self._with_callbacks(first, taken.payloads)

    def _with_callbacks(self, first: int, payloads: list[bytes]) -> list[Entry]:
        if not self._callbacks:
            return [(payload, None) for payload in payloads]
        pop = self._callbacks.pop
        return [(payload, pop(first + n, None)) for n, payload in enumerate(payloads, 1)]

    def complete(
        self, first: int, taken: TakenBatch | None, error: Exception | None, dropped: int = 0
    ) -> None:
        """The batch after message number ``first`` was delivered (``error`` None) or has
        finally failed, and was reported; ``dropped`` of its messages were left out (and
        reported) instead."""
        with self._cond:
            # A batch whose retries a shutdown cut short stays in a durable store, for the
            # next process to deliver (and was reported so); the memory store has nothing
            # to keep it in.
            if taken is not None and not isinstance(error, LeftInSpool):
                self.store.acknowledge(taken)
            self._wake(self._accounting.finish(first, error, dropped))
            if self._blocked:
                self._cond.notify_all()  # a durable store may have room again
            elif self._idle and self.store:
                self._cond.notify()  # a durable store's window may have room again

    @staticmethod
    def _wake(satisfied: list[FlushWaiter]) -> None:
        for waiter in satisfied:
            waiter.done.set()

    # -- flush -------------------------------------------------------------------------

    def flush(self, timeout: float | None) -> tuple[int, Exception | None]:
        """Wait for every message accepted before this call (see ``Analytics.flush``).

        Returns how many delivered messages this call counts, and the error of a batch
        that finally failed among those it waited for.
        """
        if self.is_delivery_thread():
            # From a callback or error_handler: the batch being reported is this thread's
            # own, so waiting for it could never end.
            raise RuntimeError(
                "flush() cannot be called from a callback: it runs on the delivery thread"
            )
        waiter = self.request_flush()
        try:
            self.wait_flush(waiter, timeout)
        finally:
            delivered = self.count_delivered(waiter)
        return delivered, waiter.error

    def request_flush(self) -> FlushWaiter:
        """Make every message accepted so far due now; ``wait_flush`` waits for them."""
        self._reset_if_forked()
        with self._cond:
            waiter = FlushWaiter()
            if self._accounting.request(waiter):
                waiter.done.set()
            else:
                self._cond.notify()
                if not self._senders and not self.closed:
                    # A forked child whose store took over a dead process's spool has
                    # messages but no thread yet (it is started here, not in the fork hook);
                    # or the senders ended (a callback raised SystemExit, say).
                    self._start_thread()
            return waiter

    def wait_flush(self, waiter: FlushWaiter, timeout: float | None) -> bool:
        """Wait (at most ``timeout`` seconds) for a requested flush; False if time ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not waiter.done.is_set():
            wait = _FLUSH_POLL
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning(
                        "segment_web: flush timed out after %.1fs with %d message(s) pending",
                        timeout,
                        self._unfinished(waiter),
                    )
                    return False
                wait = min(wait, left)
            if waiter.done.wait(wait):
                break
            self._revive()
        return True

    def _unfinished(self, waiter: FlushWaiter) -> int:
        with self._cond:
            return self._accounting.unfinished_up_to(waiter.target)

    def count_delivered(self, waiter: FlushWaiter) -> int:
        """End a requested flush: how many delivered messages it counts."""
        with self._cond:
            return self._accounting.count(waiter)

    def _revive(self) -> None:
        """A flush must not hang on a delivery thread that died: fail its batches, restart it."""
        with self._cond:
            if self.closed or any(thread.is_alive() for thread in self._senders):
                return
            self._senders.clear()
            error = DeliveryError("the delivery thread died with this batch in flight")
            self._wake(self._accounting.fail_in_flight(error))
            if self.store:
                self._start_thread()

    # -- the end -----------------------------------------------------------------------

    def shutdown(self, timeout: float | None, drop_reason: str) -> None:
        """Flush (at most ``timeout``), then stop: no more messages, the store drained (what
        it gives up is reported dropped with ``drop_reason``), the thread joined within
        what is left of ``timeout``."""
        self._reset_if_forked()
        if self.closed:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.is_delivery_thread():  # from a callback, it would wait for itself
            self.flush(timeout)  # failures among them were reported, and are not raised
        with self._cond:
            if self.closed:
                return
            self.closed = self._closing = True
            self.deliverer.abort.set()  # a batch still retrying gives up now
            in_flight = self._accounting.messages_in_flight()
            given_up: list[Entry] = []
            if not self._store_closed:
                pending = len(self.store)
                given_up = self._with_callbacks(self._accounting.taken, self.store.drain())
                self._callbacks.clear()  # a durable store keeps the rest, without callbacks
                self._wake(self._accounting.give_up(pending, DeliveryError(drop_reason)))
            self._cond.notify_all()
            senders = list(self._senders)
        reporter = self.deliverer.reporter
        reporter.dropped(given_up, drop_reason)
        current = threading.current_thread()
        # A sender ends at once unless its request is still out; the whole stop keeps to
        # ``timeout`` (at exit: shutdown_timeout), with a moment to finish up.
        end = None if deadline is None else max(deadline, time.monotonic()) + 0.1
        for thread in senders:
            if thread is not current:
                thread.join(None if end is None else max(end - time.monotonic(), 0.0))
        with self._cond:
            if not any(thread.is_alive() for thread in senders):
                self._close_store()
            elif in_flight:
                logger.warning(
                    "segment_web: %d message(s) still in flight at shutdown, not known delivered",
                    in_flight,
                )
        reporter.flush_drop_log()

    def _close_store(self) -> None:
        if not self._store_closed:
            self._store_closed = True
            self.store.close()

    def watch(self, owner: object) -> None:
        """Send what is pending and end the thread once ``owner`` (the client) is collected.

        Noticed by the delivery thread within ``OWNER_CHECK`` seconds rather than by a
        callback at collection: the garbage collector runs such callbacks on whatever
        thread it interrupts, possibly deep in a recursion or holding this very lock.
        """
        self._owner = weakref.ref(owner)

    def reset_after_fork(self) -> None:
        """In a forked child: fresh lock, no thread, an empty store (the parent sends its
        own messages); a new delivery thread starts with the child's first message."""
        self.store.reset_after_fork()
        self.deliverer.reset_after_fork()
        self._reset(ConditionMadeAtFirstUse(self))
        self._fork_mark.renew()

    def _reset_if_forked(self) -> None:
        """``reset_after_fork()`` in a child whose fork ran no at-fork hook (uWSGI's
        workers, fork() from C; see ``segment_web.fork_mark``), before anything takes
        the lock.

        Such a child holds the parent's state: its pending messages (which the parent
        sends), a delivery thread believed running that does not exist here, and a lock
        that thread may have held at the fork. Called where the child first touches the
        pipeline: a message, a flush, the shutdown, ``len()``.
        """
        if self._fork_mark.moved():
            with _unhooked_fork_reset:  # the first caller resets, the others wait for it
                if self._fork_mark.moved():
                    self.reset_after_fork()


class ConditionMadeAtFirstUse(threading.Condition):
    """A forked child's condition, made when the child first uses it.

    The fork hook runs before gunicorn's gevent worker patches ``threading`` (it patches
    after forking), so a lock made there is an OS lock; a greenlet that holds one across
    a switch (starting the delivery "thread" yields) blocks the whole worker when another
    greenlet waits for it. Made at first use, the condition is of whatever kind
    ``threading`` gives by then, and it replaces this stand-in on the pipeline. Only the
    first use goes through the stand-in's own lock, which is held across no switch and so
    is safe either way.
    """

    def __init__(self, pipeline: Pipeline) -> None:  # no lock of the condition's own yet
        self._pipeline = pipeline
        self._made_lock = threading.Lock()
        self._real: threading.Condition | None = None

    def _condition(self) -> threading.Condition:
        real = self._real
        if real is None:
            with self._made_lock:
                if self._real is None:
                    self._real = self._pipeline._cond = threading.Condition()
                real = self._real
        return real

    def __enter__(self) -> bool:
        return self._condition().__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._condition().__exit__(kind, error, traceback)

    def wait(self, timeout: float | None = None) -> bool:
        return self._condition().wait(timeout)

    def notify(self, n: int = 1) -> None:
        self._condition().notify(n)

    def notify_all(self) -> None:
        self._condition().notify_all()
