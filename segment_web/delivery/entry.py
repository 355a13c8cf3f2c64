"""What waits in a client's queue besides the message itself: its callback.

A queued message is only its encoded bytes (held by a ``segment_web.store`` store);
callbacks, which few calls give, wait in a side table of the pipeline keyed by the
message's number, and meet their message again when its batch is taken. A backlog of
10,000 messages (an outage) then costs little more than their JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segment_web.delivery.batch import Batch

Callback = Callable[[Exception | None, "Batch"], None]
Entry = tuple[bytes, Callback | None]  # a message of a taken batch and its callback
