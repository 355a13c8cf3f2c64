"""Where a client's accepted messages wait for delivery: the store interface and the
in-memory store.

A store holds encoded messages (the UTF-8 JSON of each, as bytes) in arrival order. A
message moves through three states: *pending* (appended, waiting), *taken* (handed out
in a batch that is being delivered) and gone (the batch was acknowledged: delivered, or
finally failed and reported). Messages leave in the order they arrived.

The pipeline (``segment_web.core.pipeline``) is the only user of a store, and these are the
rules a store may rely on:

- **One lock.** Every method is called with the pipeline's lock held, so a store needs
  no lock of its own, sees its methods one at a time, and must never call back into the
  pipeline or the client. Keep each call short: the callers of ``track()`` wait for
  that lock.
- **Threads.** ``append`` runs on the application's thread that made the call (a
  request thread: no network, and no ``fsync`` per message unless so configured);
  ``take`` and ``acknowledge`` on the client's sender threads (several batches are
  taken before the first is acknowledged, and acknowledgements come in any order);
  ``drain`` and ``close`` on the thread that shuts the client down (the app's, or the
  interpreter's at exit); ``reset_after_fork`` in a forked child, before any other
  thread of the child can use the client.
- **Numbering.** The pipeline numbers messages by arrival to track flushes and
  callbacks. Messages a store already holds when the client starts (a spool recovered
  from a process that died) are counted through ``len()`` at that moment and numbered
  first; they have no callbacks, and ``flush()`` waits for them like any other.
- **Bound.** The store decides what it can hold: ``append`` refuses a message by
  returning the reason, which is reported to the user as the drop reason. A store may
  keep more than ``max_queue_size`` messages (on disk, say) as long as it holds only a
  bounded number in memory.
- **Recovery.** ``recover()`` is called now and then by the delivery thread (with the
  lock held; at least every second while idle): it returns how many messages the store
  gained outside ``append`` since the last call (a spool of a process that died
  meanwhile), which the pipeline numbers after those accepted so far.
- **Waking the pipeline.** A store that can gain messages on a thread of its own (a
  spool that finds the spool of a process that died beside it) calls the ``wake``
  function ``watch()`` gave it, with none of its own locks held, until ``recover()``
  has handed them over: a client that has had no call yet has no delivery thread to
  call ``recover()``. ``wake`` never blocks and never raises.
- **Window.** ``unsettled`` counts taken batches the store still holds on to (a spool:
  those not yet recorded as delivered, counting those acknowledged early that wait for
  an older one). No batch is taken while it is ``max_in_flight`` or more, which bounds
  what a durable store sends again after a crash. A store that forgets a batch when it
  is taken (the memory store) keeps it at 0.
- **Order of a batch.** ``take`` returns the oldest pending messages, at least one when
  any is pending, never more than ``max_count`` nor more than ``max_bytes`` counting
  each message's length plus one (the comma between messages in a request body);
  ``pending_bytes`` counts the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol


def queue_full(max_size: int) -> str:
    """The drop reason for a message refused because ``max_size`` are already pending."""
    return f"queue full (max_queue_size={max_size})"


class TakenBatch:
    """A batch handed out by ``take()``; ``acknowledge()`` gets the same object back.

    ``token`` is the store's own note on where the batch came from (a file and offset,
    say); the in-memory store needs none. ``check``: the payloads were read back from
    storage another process could have written (a spool file), so each must be verified
    to be one JSON object before it joins a request body.
    """

    __slots__ = ("check", "payloads", "token")

    def __init__(self, payloads: list[bytes], token: object = None, *, check: bool = False) -> None:
        self.payloads = payloads
        self.token = token
        self.check = check

    def __len__(self) -> int:
        return len(self.payloads)


class MessageStore(Protocol):
    """The storage of one client's messages. See the module docstring for the rules."""

    @property
    def pending_bytes(self) -> int:
        """Bytes of the pending messages, each counted as its length plus one."""
        ...

    @property
    def unsettled(self) -> int:
        """Taken batches not yet settled (see "Window")."""
        ...

    def __len__(self) -> int:
        """How many messages are pending (not counting taken ones)."""
        ...

    def append(self, payload: bytes) -> str | None:
        """Keep one message; None when kept, else the reason it was refused (not kept)."""
        ...

    def take(self, max_count: int, max_bytes: int) -> TakenBatch:
        """Hand out the oldest pending messages as one batch (see "Order of a batch").

        Called only when at least one message is pending.
        """
        ...

    def acknowledge(self, batch: TakenBatch) -> None:
        """The batch was delivered, or finally failed and was reported: forget it."""
        ...

    def recover(self) -> int:
        """How many messages became pending since the last call without ``append``."""
        ...

    def watch(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when messages wait for ``recover()`` (see "Waking the pipeline");
        a store that gains none outside ``append`` ignores it."""
        ...

    def drain(self) -> list[bytes]:
        """At shutdown: remove the pending messages this store gives up, and return them.

        The pipeline reports each returned message as dropped. A durable store returns
        only what it cannot keep for a later process, and keeps the rest (and any taken
        batch never acknowledged) for that process to deliver; the callbacks of kept
        messages are not called.
        """
        ...

    def close(self) -> None:
        """The client is shut down and its delivery thread has ended (or was given up
        on): release files and other resources. No method is called afterwards."""
        ...

    def reset_after_fork(self) -> None:
        """In a forked child: forget every message of the parent, which delivers them
        itself, and take new messages as a store of the child's own."""
        ...


def take_batch(pending: deque[bytes], max_count: int, max_bytes: int) -> tuple[list[bytes], int]:
    """Pop a batch off the front of ``pending`` (not empty): up to ``max_count`` messages
    and ``max_bytes``, one at least; returns it and its bytes plus one per message."""
    first = pending.popleft()
    payloads = [first]
    size = len(first) + 1
    while pending and len(payloads) < max_count:
        next_size = len(pending[0]) + 1
        if size + next_size > max_bytes:
            break
        payloads.append(pending.popleft())
        size += next_size
    return payloads, size


class MemoryStore:
    """Messages in a bounded deque: the default store, as fast as a plain queue.

    Holds at most ``max_size`` pending messages; taken batches are the senders' to
    hold, so acknowledging one has nothing to do.
    """

    unsettled = 0

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.refusal = queue_full(max_size)
        self._pending: deque[bytes] = deque()
        self.pending_bytes = 0

    def __len__(self) -> int:
        return len(self._pending)

    def append(self, payload: bytes) -> str | None:
        pending = self._pending
        if len(pending) >= self.max_size:
            return self.refusal
        pending.append(payload)
        self.pending_bytes += len(payload) + 1
        return None

    def take(self, max_count: int, max_bytes: int) -> TakenBatch:
        payloads, size = take_batch(self._pending, max_count, max_bytes)
        self.pending_bytes -= size
        return TakenBatch(payloads)

    def acknowledge(self, batch: TakenBatch) -> None:
        pass

    def recover(self) -> int:
        return 0

    def watch(self, wake: Callable[[], None]) -> None:
        pass

    def drain(self) -> list[bytes]:
        payloads = list(self._pending)
        self._pending.clear()
        self.pending_bytes = 0
        return payloads

    def close(self) -> None:
        pass

    def reset_after_fork(self) -> None:
        self._pending = deque()
        self.pending_bytes = 0
