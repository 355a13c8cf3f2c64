"""The collector's ASGI app (Starlette): the tracking API, the JSON API and the page.

Every refusal is a 4xx with ``{"success": false, "message": …}``; only a fault of the
collector itself (its database failing) is a 500, which a client retries. Storage runs
on worker threads, so a slow query never holds up the event loop.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from segment_web.collector.errors import RequestError
from segment_web.collector.faults import Faults
from segment_web.collector.hosts import HostRule
from segment_web.collector.intake import (
    MAX_BODY_BYTES,
    MESSAGE_TYPES,
    batch_messages,
    decode_body,
    parse_json,
    single_message,
    write_key_from_auth,
)
from segment_web.collector.page import page_html
from segment_web.collector.store import DEFAULT_LIMIT, EventFilter, EventStore

if TYPE_CHECKING:
    from segment_web.collector.oauth import OAuthMode
    from segment_web.collector.violations import PlanFlags

logger = logging.getLogger("segment_web.collector")

# A gzip body is at most a little larger than what it holds; beyond this it is over the
# limit without reading it. Up to _DRAIN_BYTES the HTTP server reads and drops the rest so
# the connection stays usable; beyond that the connection is closed after the answer.
_MAX_RAW_BYTES = MAX_BODY_BYTES + 64 * 1024
_DRAIN_BYTES = 16 * 1024 * 1024
_PAGE_HEADERS = {
    # Everything the page needs is inline; nothing may load from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
}
_FILTER_PARAMS = ("type", "event", "user")
_VIOLATIONS = {"": None, "1": True, "true": True, "0": False, "false": False}


def create_app(
    store: EventStore,
    *,
    write_key: str | None,
    hosts: HostRule,
    plan: PlanFlags | None = None,
    faults: Faults | None = None,
    oauth: OAuthMode | None = None,
) -> ASGIApp:
    """The collector as an ASGI app over ``store``; see the module docstring. With
    ``plan``, each received message is stored with its violations of that plan; with
    ``faults``, tracking requests are answered late or fail on purpose; with ``oauth``,
    only bearer tokens from its token endpoint are accepted."""
    endpoints = _Endpoints(store, write_key, plan, faults)
    endpoints.oauth = oauth
    routes = [
        Route("/", endpoints.page, methods=["GET"]),
        Route("/index.html", endpoints.page, methods=["GET"]),
        Route("/api/events", endpoints.events, methods=["GET", "DELETE"]),
        Route("/v1/batch", endpoints.tracking(None), methods=["POST"]),
        *(
            Route(f"/v1/{kind}", endpoints.tracking(kind), methods=["POST"])
            for kind in MESSAGE_TYPES
        ),
        *([] if oauth is None else [oauth.route()]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _http_exception,
            RequestError: _refused,
            Exception: _internal_error,
        },
    )
    return _HostGuard(app, hosts)


class _Endpoints:
    def __init__(
        self,
        store: EventStore,
        write_key: str | None,
        plan: PlanFlags | None,
        faults: Faults | None,
    ) -> None:
        self.store = store
        self.write_key = write_key
        self.plan = plan
        self.faults = faults if faults is not None and faults.active() else None
        self.oauth: OAuthMode | None = None  # OAuth mode: bearer tokens, not write keys

    async def page(self, request: Request) -> Response:
        headers = {**_PAGE_HEADERS, "Cache-Control": "no-store"}
        return Response(page_html(), media_type="text/html; charset=utf-8", headers=headers)

    async def events(self, request: Request) -> Response:
        if request.method == "DELETE":
            return await self._delete_events(request)
        where = _filter(request)
        limit = _limit(request.query_params.get("limit"))
        before = _cursor(request.query_params.get("cursor"))

        def query() -> dict[str, Any]:
            events, next_before = self.store.page(where, limit=limit, before=before)
            return {
                "events": [event.to_json() for event in events],
                "total": self.store.count(where),
                "next": None if next_before is None else str(next_before),
                "plan": None if self.plan is None else self.plan.describe(),
                "faults": None if self.faults is None else self.faults.describe(),
            }

        return json_response(200, await run_in_threadpool(query))

    async def _delete_events(self, request: Request) -> Response:
        for name in ("limit", "cursor"):
            if name in request.query_params:
                raise RequestError(
                    400, f"{name} does not apply to DELETE; filter by type, event or user"
                )
        where = _filter(request)
        deleted = await run_in_threadpool(self.store.delete, where)
        logger.info("deleted %d event(s)%s", deleted, "" if where.is_empty() else f" ({where})")
        return json_response(200, {"success": True, "deleted": deleted})

    def tracking(self, kind: str | None) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint for ``/v1/{kind}``, or ``/v1/batch`` when ``kind`` is None."""

        async def receive(request: Request) -> Response:
            return await self._receive(request, kind)

        return receive

    async def _receive(self, request: Request, kind: str | None) -> Response:
        _require_json(request.headers.get("Content-Type"))
        authorization = request.headers.get("Authorization")
        if self.oauth is not None:
            write_key = self.oauth.authorize(authorization)
        else:
            write_key = write_key_from_auth(authorization, self.write_key)
        raw = await _read_body(request)
        body = parse_json(decode_body(raw, request.headers.get("Content-Encoding")))
        messages = batch_messages(body) if kind is None else [single_message(kind, body)]
        if self.faults is not None:
            await self.faults.delay()
            if self.faults.should_fail():
                return self._injected_failure(messages)
        received_at = _now()

        def judge_and_store() -> list[list[dict[str, str]]] | None:
            # Off the event loop: judging a large batch against a plan takes a while.
            flags = None if self.plan is None else [self.plan.flags(m) for m in messages]
            self.store.add(messages, write_key=write_key, received_at=received_at, violations=flags)
            return flags

        flags = await run_in_threadpool(judge_and_store)
        for index, message in enumerate(messages):
            found = flags[index] if flags else []
            if found:
                broken = "; ".join(f"{flag['path']}: {flag['rule']}" for flag in found)
                logger.warning("%s  violates the plan: %s", describe(message), broken)
            else:
                logger.info("%s", describe(message))
        return json_response(200, {"success": True})

    def _injected_failure(self, messages: list[dict[str, Any]]) -> Response:
        assert self.faults is not None
        status = self.faults.failure_status
        count = len(messages)
        logger.info(
            "answered %d to %d message%s on purpose (--fail-rate/--fail-status): not stored",
            status,
            count,
            "" if count == 1 else "s",
        )
        message = f"failure injected by the collector (status {status}); send again"
        return json_response(
            status, {"success": False, "message": message}, self.faults.failure_headers()
        )


class _HostGuard:
    """Answers only requests whose ``Host`` the rule allows (see ``hosts.py``)."""

    def __init__(self, app: ASGIApp, hosts: HostRule) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name == b"host"]
        host = values[0].decode("latin-1") if values else None
        if len(values) > 1 or not self.hosts.allows(host):
            logger.warning("refused a request for Host %r", host)
            message = (
                f"Host {host!r} is not served here; to accept it, start the collector "
                "with --allow-host NAME"
            )
            response = json_response(400, {"success": False, "message": message})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def json_response(
    status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """Compact-enough JSON; ``ensure_ascii`` so stored lone surrogates stay valid JSON text."""
    return Response(
        json.dumps(payload).encode("ascii"),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def describe(message: Mapping[str, Any]) -> str:
    """One log line for a stored message: type, event/name and who."""
    kind = message.get("type")
    label = message.get("event") if kind == "track" else None
    if kind in ("page", "screen"):
        label = message.get("name")
    who = message.get("userId") or message.get("anonymousId")
    parts = [f"{kind:<8}"]
    if label:
        parts.append(json.dumps(label, ensure_ascii=False))
    if kind == "alias":
        parts.append(f"{message.get('previousId')} -> {message.get('userId')}")
    elif who is not None:
        parts.append(f"user={who}")
    return " ".join(parts)


def _require_json(content_type: str | None) -> None:
    # Every tracking client sends JSON; a browser cannot send that type to another
    # origin without a CORS preflight, which the collector never grants. So a page on
    # any other site cannot store events here (an HTML form can only send form types).
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise RequestError(415, f"Content-Type must be application/json, got {shown}")


async def _read_body(request: Request) -> bytes:
    headers = request.headers
    length_text = headers.get("Content-Length")
    if length_text is None and "chunked" not in headers.get("Transfer-Encoding", "").lower():
        raise RequestError(411, "Content-Length required")
    if length_text is not None and length_text.isdigit() and int(length_text) > _MAX_RAW_BYTES:
        close = {"Connection": "close"} if int(length_text) > _DRAIN_BYTES else {}
        raise RequestError(400, _over_limit(), headers=close)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_RAW_BYTES:
                raise RequestError(400, _over_limit(), headers={"Connection": "close"})
    except ClientDisconnect:
        raise RequestError(400, "request body shorter than its Content-Length") from None
    return bytes(body)


def _filter(request: Request) -> EventFilter:
    params = request.query_params
    values = {name: (params.get(name) or "").strip() or None for name in _FILTER_PARAMS}
    kind = values["type"]
    if kind and kind not in MESSAGE_TYPES:
        raise RequestError(400, f"type must be one of {', '.join(MESSAGE_TYPES)}, got {kind!r}")
    text = (params.get("violations") or "").strip().lower()
    if text not in _VIOLATIONS:
        raise RequestError(
            400,
            "violations must be 1 (only events breaking the plan) or 0 (only the others), "
            f"got {params.get('violations')!r}",
        )
    violations = _VIOLATIONS[text]
    return EventFilter(type=kind, event=values["event"], user=values["user"], violations=violations)


def _limit(text: str | None) -> int:
    if not text or not text.strip():
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise RequestError(400, f"limit must be a positive integer, got {text!r}")
    return limit


def _cursor(text: str | None) -> int | None:
    # The "next" of an earlier answer: the id of the last event it listed. Opaque to
    # users, so only that shape is accepted.
    if text is None or not text.strip():
        return None
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) < 1:
        raise RequestError(
            400, f'cursor must be the "next" value of an earlier answer, got {text!r}'
        )
    return int(value)


async def _http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        message = f"{request.method} is not allowed here"
    elif error.status_code == 404:
        message = f"no such endpoint: {request.url.path}"
    else:
        message = error.detail
    return json_response(
        error.status_code, {"success": False, "message": message}, error.headers or {}
    )


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestError)
    logger.warning("%s %s -> %d: %s", request.method, request.url.path, error.status, error.message)
    return json_response(error.status, {"success": False, "message": error.message}, error.headers)


async def _internal_error(request: Request, error: Exception) -> Response:
    logger.error(
        "collector: internal error on %s %s", request.method, request.url.path, exc_info=error
    )
    message = "internal error in the collector; see its log"
    return json_response(500, {"success": False, "message": message})


def _over_limit() -> str:
    return f"request body is over the {MAX_BODY_BYTES}-byte limit"


def _now() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"
