"""Segment analytics for any ASGI app (Starlette, FastAPI, Django ASGI, Quart…).

Usage (``pip install "segment-web[asgi]"``)::

    from segment_web.asgi import SegmentMiddleware

    app = SegmentMiddleware(app, write_key="WRITE_KEY")            # any ASGI app

    # Starlette
    app = Starlette(routes=..., middleware=[Middleware(SegmentMiddleware, write_key="...")])
    # FastAPI
    app.add_middleware(SegmentMiddleware, write_key="...")

    @app.post("/signup")
    async def signup(request: Request):
        request.state.analytics.track(event="Signed Up", properties={"plan": "pro"})
        # or: segment_web.track(event="Signed Up")

Settings are keyword arguments with the option names (``client=`` uses an existing
``Analytics`` instead); a bad one raises ``ValueError`` naming it when the middleware
is built. ``FlushOnShutdown(app)`` only flushes at lifespan shutdown, for an app
analytics reaches otherwise (Django's own middleware under uvicorn). ``user_id`` is
``fn(scope)``, asked as each message is built, or an ``async def`` awaited once per
request (bounded by ``user_id_timeout``); ``segment_web.identify_request(user_id)`` from
a dependency or a guard sets the user for the rest of the request.

Documentation: ``docs/frameworks/asgi.md`` (what is captured, other frameworks,
verifying the setup); every option in ``docs/reference/options.md``.
"""

from __future__ import annotations

from segment_web.asgi.lifespan import FlushOnShutdown
from segment_web.asgi.middleware import SegmentMiddleware

__all__ = ["FlushOnShutdown", "SegmentMiddleware"]
