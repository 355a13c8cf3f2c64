"""Segment analytics for any ASGI app (Starlette, FastAPI, Django ASGI, Quart…).

Usage::

    from segment_web.asgi import SegmentMiddleware

    app = SegmentMiddleware(app, write_key="WRITE_KEY")            # any ASGI app

    # Starlette
    app = Starlette(routes=..., middleware=[Middleware(SegmentMiddleware, write_key="...")])
    # FastAPI
    app.add_middleware(SegmentMiddleware, write_key="...")

Inside a request, ``request.state.analytics`` (the raw ASGI ``scope["state"]["analytics"]``)
is the request's handle, with the six calls of the client (``track``, ``identify``,
``page``, ``screen``, ``group``, ``alias``) pre-filled from the request. The module-level
``segment_web.track(...)`` etc. use the same handle anywhere in the request: sync endpoints
run in a threadpool, background tasks and tasks the request starts included::

    @app.post("/signup")
    async def signup(request: Request):
        request.state.analytics.track(event="Signed Up", properties={"plan": "pro"})
        # or: segment_web.track(event="Signed Up")

Settings: keyword arguments, the same names as the Django and Flask adapters' settings
(generated from ``segment_web.web.settings.OPTIONS``). Without ``write_key`` a warning is
logged and the client runs disabled (calls validate, nothing is sent, the app runs);
``shutdown_timeout`` also bounds the flush at lifespan shutdown. ``user_id`` is
``fn(scope)``, asked as each message is built (often on the event loop: no blocking
I/O), or an ``async def`` awaited once per request before the app runs (bounded by
``user_id_timeout``); ``segment_web.identify_request(user_id)`` from a dependency or a
guard sets the user for the rest of the request; by default the id of an
authenticated ``scope["user"]`` (Starlette's ``AuthenticationMiddleware``, inside or
outside this middleware) is its ``identity`` attribute::

<options table>

``client=`` uses an existing ``Analytics`` instead (the client options are then
refused). The middleware's client also becomes the module-level default (unless
``segment_web.configure()`` set one), so ``segment_web.track()`` works outside requests.

Invalid settings raise ``ValueError`` naming the option when the middleware is built.

What is captured, from the ASGI scope only (the request body is never read): ``userId``;
``anonymousId`` from the cookie (a new UUID, set as the cookie, when absent);
``context.ip``, ``context.userAgent``, ``context.locale`` (Accept-Language),
``context.page`` (``url``, ``path`` — ``root_path`` included —, ``search``,
``referrer``) and ``context.campaign`` (``utm_*``); with the privacy settings,
``context.ip`` masked (``anonymize_ip``) and ``context.consent`` / ``integrations`` from
``consent`` (given the scope), ``consent_cookie`` and ``gpc_categories`` (README,
"Privacy"). The automatic page is named after the
matched route (Starlette/FastAPI ``scope["route"]``: its name, else its path, else the
endpoint's name) and sent once the response's last body message went to the server.

Scopes: ``http`` as above; ``websocket`` (and any other type) passes through untouched;
``lifespan`` flushes the client at shutdown without blocking the event loop (also for an
app that does not handle lifespan itself). ``FlushOnShutdown(app)`` does only that flush,
for an app analytics reaches otherwise (Django's own middleware under uvicorn, where
SIGTERM ends the process without ``atexit``). The middleware is pure ASGI: responses
stream through unbuffered and no framework is imported. An analytics failure is logged
to the ``segment_web`` logger and the response goes on; the app's own exceptions
propagate unchanged.
"""

from __future__ import annotations

from segment_web.asgi.lifespan import FlushOnShutdown
from segment_web.asgi.middleware import SegmentMiddleware
from segment_web.web.settings import with_options_table

__doc__ = with_options_table(__doc__, str, user_id="scope['user'].identity if authenticated")

__all__ = ["FlushOnShutdown", "SegmentMiddleware"]
