"""``flush_after``: deliver what a short-lived handler tracked before it returns.

AWS Lambda (and similar platforms) freeze a process between invocations and may end it
without running ``atexit``; a script may be killed soon after its work. Decorate the
handler, or wrap the work in a ``with`` block, and everything queued by the time it
returns or raises is flushed, bounded by ``timeout``::

    import segment_web

    segment_web.configure(write_key="...")  # once per process, outside the handler

    @segment_web.flush_after(timeout=2.0)  # or plain @segment_web.flush_after
    def handler(event, context):
        segment_web.track(user_id=event["user"], event="Invoked")
        return {"ok": True}

    with segment_web.flush_after():
        segment_web.track(user_id="script", event="Nightly Import Done")

The client stays open and keeps batching (no ``flush_at=1`` needed): the same warm
process serves the next invocation. A flush failure is logged, never raised, so the
handler's own result or exception is what the caller sees.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from segment_web.process.registry import flush_live_clients

if TYPE_CHECKING:
    from segment_web.core.client import Analytics

logger = logging.getLogger("segment_web")

F = TypeVar("F", bound=Callable[..., Any])


class FlushAfter(contextlib.ContextDecorator):
    """What ``flush_after`` returns: a context manager that also decorates functions."""

    def __init__(self, client: Analytics | None, timeout: float | None) -> None:
        self.client = client
        self.timeout = timeout

    def __enter__(self) -> FlushAfter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.client is None:
            flush_live_clients(self.timeout)
        else:
            timeout = self.client.shutdown_timeout if self.timeout is None else self.timeout
            try:
                self.client.flush(timeout=timeout)
            except Exception as error:  # the handler's own result is what counts
                logger.error("segment_web: flush failed: %s", error)


@overload
def flush_after(function: F, /) -> F: ...


@overload
def flush_after(*, client: Analytics | None = None, timeout: float | None = None) -> FlushAfter: ...


def flush_after(
    function: F | None = None,
    /,
    *,
    client: Analytics | None = None,
    timeout: float | None = None,
) -> F | FlushAfter:
    """Flush ``client`` (default: every live client) when the block or function ends,
    whether it returns or raises.

    ``timeout`` (seconds) bounds the wait for each client; None uses each client's
    ``shutdown_timeout``. Use as ``@flush_after``, ``@flush_after(timeout=2)`` or
    ``with flush_after():``.
    """
    flusher = FlushAfter(client, timeout)
    if function is not None:
        decorated: F = flusher(function)
        return decorated
    return flusher
