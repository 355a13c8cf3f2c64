"""The ``lifespan`` scope: flush the client when the application shuts down.

The flush runs when the app reports ``lifespan.shutdown.complete`` (or ``.failed``),
before the server hears it, so events sent by the app's own shutdown code go out too.
An app that does not speak lifespan (it raises, or returns without answering, as
Django's ASGI handler does) would leave the server with no shutdown signal at all;
then this middleware answers the protocol itself, so the flush still happens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from segment_web.api import default_client
from segment_web.asgi.protocol import ASGIApp, Message, Receive, Scope, Send
from segment_web.core.client import Analytics
from segment_web.web.integration import never_raise

logger = logging.getLogger("segment_web")

_SHUTDOWN_DONE = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})


Flush = Callable[[], Awaitable[Any]]


async def _flush(flush: Flush) -> None:
    """Deliver what is queued, off the event loop, bounded by ``shutdown_timeout``."""
    with never_raise("flushing analytics at application shutdown"):
        await flush()


async def run_lifespan(
    app: ASGIApp, flush: Flush, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run ``app``'s lifespan, awaiting ``flush()`` at its shutdown (logged, never raised)."""
    received: list[str] = []  # lifespan messages the app took from the server
    answered = False  # whether the app sent the server any lifespan message

    async def app_receive() -> Message:
        message = await receive()
        received.append(message["type"])
        return message

    async def app_send(message: Message) -> None:
        nonlocal answered
        answered = True
        if message["type"] in _SHUTDOWN_DONE:
            await _flush(flush)
        await send(message)

    try:
        await app(scope, app_receive, app_send)
    except Exception as error:
        if answered:
            raise
        # The ASGI spec reads an exception before any answer as "lifespan unsupported".
        logger.info(
            "segment_web: the app does not handle ASGI lifespan (%s: %s); the middleware "
            "answers it so analytics is flushed at shutdown",
            type(error).__name__,
            error,
        )
    else:
        if answered:
            return
    await _serve_lifespan(flush, received, receive, send)


async def _serve_lifespan(flush: Flush, received: list[str], receive: Receive, send: Send) -> None:
    """Answer the lifespan protocol for an app that does not: start at once, flush at the end."""
    if "lifespan.startup" not in received:
        await receive()
    await send({"type": "lifespan.startup.complete"})
    if "lifespan.shutdown" not in received:
        await receive()
    await _flush(flush)
    await send({"type": "lifespan.shutdown.complete"})


class FlushOnShutdown:
    """Flush analytics at ASGI lifespan shutdown, for an app no ``SegmentMiddleware``
    wraps — Django under uvicorn::

        application = FlushOnShutdown(get_asgi_application())   # run with lifespan on

    uvicorn ends the process by re-raising SIGTERM after its graceful shutdown, so
    ``atexit`` handlers (the flush at exit) never run there; the lifespan shutdown is the
    last moment to deliver what is queued. ``client`` defaults to the module-level one
    (which the Django app provides), read when the server starts the lifespan.
    Every other scope passes through untouched.
    """

    def __init__(self, app: ASGIApp, client: Analytics | None = None) -> None:
        self.app = app
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = self.client or default_client()
        if scope["type"] != "lifespan" or client is None:
            await self.app(scope, receive, send)
            return
        flush = functools.partial(client.aflush, timeout=client.shutdown_timeout)
        await run_lifespan(self.app, flush, scope, receive, send)
