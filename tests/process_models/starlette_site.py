"""A Starlette app with ``Middleware(SegmentMiddleware)``, served with ``--lifespan off``:
the middleware stack (and so the client) is built at the first request.

``/track?n=N`` tracks one event; ``/slow`` tracks "Slow Started", creates the file named
by ``SEGMENT_TEST_RELEASE`` plus ".started", waits (bounded) until the file named by
``SEGMENT_TEST_RELEASE`` exists, then tracks "Slow Finished".
"""

from __future__ import annotations

import asyncio
import os
import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from segment_web.asgi import SegmentMiddleware


async def track(request: Request) -> PlainTextResponse:
    request.state.analytics.track(event="Tracked", properties={"n": request.query_params["n"]})
    return PlainTextResponse("ok")


async def slow(request: Request) -> PlainTextResponse:
    request.state.analytics.track(event="Slow Started")
    release = os.environ["SEGMENT_TEST_RELEASE"]
    with open(release + ".started", "w"):
        pass
    deadline = time.monotonic() + 30
    while not os.path.exists(release) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    request.state.analytics.track(event="Slow Finished")
    return PlainTextResponse("done")


application = Starlette(
    routes=[Route("/track", track), Route("/slow", slow)],
    middleware=[
        Middleware(
            SegmentMiddleware,
            write_key="k",
            host=os.environ["SEGMENT_TEST_HOST"],
            flush_at=100,
            flush_interval=600,
            auto_page=False,
        )
    ],
)
