"""Blinker signals sent by every client; the sender is the ``Analytics`` instance.

- ``message_queued(client, message=dict)``
- ``batch_sent(client, batch=Batch, status=int)``
- ``batch_failed(client, batch=Batch, error=Exception)``
- ``message_dropped(client, message=dict | None, message_id=str, reason=str)``
- ``plan_violation(client, message=dict, event=str, violations=list[Violation])``
- ``spool_failed(client, message_id=str, error=OSError)``
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

message_queued = _signals.signal("message_queued", doc="A message was accepted into a queue.")
batch_sent = _signals.signal("batch_sent", doc="A batch was delivered.")
batch_failed = _signals.signal("batch_failed", doc="A batch finally failed after its retries.")
message_dropped = _signals.signal(
    "message_dropped", doc="A message was dropped before delivery; `reason` says why."
)
plan_violation = _signals.signal(
    "plan_violation", doc="A message breaks the tracking plan (plan_mode report or drop)."
)

spool_failed = _signals.signal(
    "spool_failed",
    doc="A message could not be written to the spool_dir, or its file was deleted; it is "
    "kept in memory only, or written again to a new spool (the error says which).",
)

__all__ = [
    "batch_failed",
    "batch_sent",
    "message_dropped",
    "message_queued",
    "plan_violation",
    "spool_failed",
]
