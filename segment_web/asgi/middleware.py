"""``SegmentMiddleware``: the scope guard, the per-request handle, the wrapped ``send``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from segment_web.asgi.lifespan import run_lifespan
from segment_web.asgi.protocol import ASGIApp, Message, Receive, Scope, Send
from segment_web.asgi.scope import (
    endpoint_from_url_map,
    request_facts,
    route_name,
    scope_user_id,
    url_map_of,
)
from segment_web.core.client import Analytics
from segment_web.core.handle import activate
from segment_web.core.options import CLIENT_OPTION_NAMES
from segment_web.process.sigterm import install_pending, terminating
from segment_web.web.health import CONTENT_TYPE
from segment_web.web.integration import Integration, log_failure
from segment_web.web.settings import parse_settings
from segment_web.web.tracked_request import TrackedRequest
from segment_web.web.users import await_user_id, is_async_resolver

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from segment_web.web.settings import AdapterOptions

logger = logging.getLogger("segment_web")

# The messages after which the server has the whole response (the ASGI "pathsend" and
# "zerocopysend" extensions finish a response without an ``http.response.body``).
_LAST_BODY = frozenset(
    {"http.response.body", "http.response.pathsend", "http.response.zerocopysend"}
)


class SegmentMiddleware:
    """Segment analytics for any ASGI app; see the ``segment_web.asgi`` docstring.

    ``SegmentMiddleware(app, write_key="...", **options)`` takes the shared options in
    snake_case; a bad one raises ``ValueError`` naming it. ``client=`` uses an existing
    ``Analytics`` instead of building one (then the client options belong to it).
    """

    def __init__(
        self,
        app: ASGIApp,  # Starlette before 0.41.3 passes it as app=
        write_key: str | Callable[..., Any] | None = None,
        *,
        client: Analytics | None = None,
        **options: Unpack[AdapterOptions],
    ) -> None:
        self.app = app
        values = dict(options)
        if write_key is not None:
            values["write_key"] = write_key
        settings, problems = parse_settings(values)
        if client is not None:
            if not isinstance(client, Analytics):
                raise ValueError(f"client must be a segment_web.Analytics, got {client!r}")
            clashes = sorted(set(values) & set(CLIENT_OPTION_NAMES))
            if clashes:
                raise ValueError(
                    f"{', '.join(clashes)}: client options cannot be combined with client=; "
                    "give them to that Analytics instead"
                )
            problems = [problem for problem in problems if problem.fatal]
        fatal = [problem.message for problem in problems if problem.fatal]
        if fatal:
            raise ValueError("SegmentMiddleware: " + "; ".join(fatal))
        for problem in problems:
            logger.warning("segment_web: %s", problem.message)
        self.integration = Integration(settings, client)
        self.client = self.integration.client
        # segment_web.track() outside requests (tasks, scripts) uses this client unless
        # segment_web.configure() set one (see the segment_web.asgi docstring).
        self.integration.adopt_as_default()
        self._user_id = settings.user_id
        # An async resolver is awaited once per request, before the app runs.
        self._async_user_id = settings.user_id if is_async_resolver(settings.user_id) else None
        self._user_id_timeout = settings.user_id_timeout
        self._cookie_prefix = f"{settings.anonymous_id_cookie}=".encode("latin-1")
        self._health_path = settings.health_path
        self._url_map = url_map_of(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await run_lifespan(self.app, self.integration.aflush, scope, receive, send)
            else:  # websocket and any future scope type: not ours, untouched
                await self.app(scope, receive, send)
            return
        install_pending()  # a SIGTERM handler a client off the main thread could not install
        if scope["path"] == self._health_path and scope["method"] in ("GET", "HEAD"):
            await self._health(send)
            return
        user_id: Any = None
        if self._async_user_id is not None:
            user_id = await await_user_id(self._async_user_id, scope, self._user_id_timeout)
        integration = self.integration
        # Only with several write keys: no await on every request's path otherwise.
        client = await integration.aclient_for(scope) if integration.pool is not None else None
        tracked = self._start(scope, user_id, client)
        if tracked is None:
            await self.app(scope, receive, send)
            return
        response = _Response(self, tracked, scope, send)
        with activate(tracked.handle):
            await self.app(scope, receive, response.send)
        if terminating():
            # A request the server let finish after SIGTERM: without a lifespan shutdown
            # nothing flushes after it, and the server waits for this task to end.
            await self._flush_after_termination()

    async def _flush_after_termination(self) -> None:
        try:
            await self.integration.aflush()
        except Exception:
            log_failure("flushing a request finished during shutdown")

    async def _health(self, send: Send) -> None:
        code, body = self.integration.health()
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"cache-control", b"no-store")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _start(self, scope: Scope, user_id: Any, client: Analytics | None) -> TrackedRequest | None:
        """The request's analytics, published in ``scope["state"]``; None (logged) on failure.
        ``user_id``: an async resolver's answer, else the sync resolver is used."""
        try:
            if self._async_user_id is None:
                user_id = self._user_resolver(scope)
            tracked = self.integration.start(request_facts(scope), user_id, client)
            if tracked is not None:
                scope.setdefault("state", {})["analytics"] = tracked.handle
            return tracked
        except Exception:
            log_failure("reading the ASGI request")
            return None

    def _user_resolver(self, scope: Scope) -> Callable[[], Any]:
        # Lazy: an authentication middleware inside this one sets scope["user"] later.
        if self._user_id is not None:
            return functools.partial(self._user_id, scope)
        return functools.partial(scope_user_id, scope)


class _Response:
    """One response on its way out: every message is passed on as it comes (streaming
    stays streaming); the start is read for status and content type and gets the cookie;
    after the last body message the automatic page is sent."""

    __slots__ = (
        "_finished",
        "_middleware",
        "_scope",
        "_send",
        "_tracked",
        "content_type",
        "status",
    )

    def __init__(
        self, middleware: SegmentMiddleware, tracked: TrackedRequest, scope: Scope, send: Send
    ) -> None:
        self._middleware = middleware
        self._tracked = tracked
        self._scope = scope
        self._send = send
        self._finished = False
        self.status = 0
        self.content_type: str | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._send(self._started(message))
            return
        await self._send(message)
        if kind in _LAST_BODY and not message.get("more_body", False) and not self._finished:
            self._finished = True
            try:
                page_name = route_name(self._scope)
                url_map = self._middleware._url_map
                if page_name is None and url_map is not None:
                    page_name = endpoint_from_url_map(url_map, self._scope)
            except Exception:
                log_failure("naming the automatic page")
            else:
                self._middleware.integration.finish(
                    self._tracked, self.status, self.content_type, page_name
                )

    def _started(self, message: Message) -> Message:
        """Note status and content type; add the anonymous-id cookie unless the app set it."""
        try:
            self.status = message["status"]
            headers = message.get("headers") or ()
            if not isinstance(headers, list | tuple):
                # The spec allows any iterable; read once, the server gets the same items.
                headers = list(headers)
                message = {**message, "headers": headers}
            prefix = self._middleware._cookie_prefix
            app_set_cookie = False
            for name, value in headers:
                lowered = name.lower()
                if lowered == b"content-type":
                    self.content_type = value.decode("latin-1")
                elif lowered == b"set-cookie" and value.startswith(prefix):
                    app_set_cookie = True
            cookie = self._tracked.cookie()
            if cookie is not None and not app_set_cookie:
                # A new message and list: the app's own may be reused across responses.
                added = (b"set-cookie", cookie.header().encode("latin-1"))
                return {**message, "headers": [*headers, added]}
        except Exception:
            log_failure("reading the response start")
        return message
