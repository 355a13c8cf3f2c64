"""The same small app in every framework, for the conformance scenarios:

- ``GET /privacy/``: tracks ``EVENT`` through the request's handle and answers HTML (so
  the automatic page call follows); ``?explicit=1`` gives that call its own consent
  context and integrations, ``?identify=1`` sends an identify call with an email first;
- ``GET /who/?user=ID``: the app's own authentication code says who the user is with
  ``segment_web.identify_request(ID)`` (Flask code, a FastAPI dependency, a Litestar
  guard, a Quart before-request function, a DRF authentication class), then tracks
  ``"Who"`` and answers HTML;
- ``GET /stream/``: a streamed HTML body whose generator tracks ``"Streamed"`` with the
  module-level call; ``/stream-async/`` the same with an async generator where the
  framework has them;
- ``GET /carry/``: hands ``send_from_pool`` to a thread pool through ``segment_web.carry``
  (``executor.submit``), and in async frameworks also through ``loop.run_in_executor``;
- ``GET /hit/?tenant=a&n=3``: tracks ``Hit`` with those two as properties, answering
  plain text (no page); the tenant's write key comes from the ``X-Tenant`` header through
  the framework's write-key callable below;
- for the automatic page's rules, sending nothing themselves: ``/form/`` (HTML, GET and
  POST), ``/plain/`` (text), ``/data/`` (JSON), ``/missing/`` (an HTML 404), ``/go/`` (a
  redirect), and the HTML pages ``/health`` and ``/static/site.css`` the default
  ``page_exclude`` leaves out.

Each framework also has a ``consent`` callable that reads the test header
``X-Test-Consent: Advertising=1,Analytics=0`` (tests/web/consent.py) through its own
request API, and refuses (raises) anything but its framework's request object.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import flask
import quart
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path, re_path
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.security import OAuth2PasswordBearer
from litestar import Litestar, MediaType, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Stream
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.views import APIView
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse as StarletteHTML
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import StreamingResponse as StarletteStreaming
from starlette.routing import Route

import segment_web
from segment_web.core.handle import RequestAnalytics
from segment_web.django import health_view
from segment_web.flask import Segment
from tests.web import consent
from tests.web.factories import key_of, scope_write_key

PAGE = "<!doctype html><title>conformance</title><p>hello</p>"
PARTS = (b"<!doctype html><p>", b"streamed</p>")
PRIVACY = "/privacy/"
EVENT = "Privacy Checked"
EXPLICIT_CONTEXT = {"consent": {"categoryPreferences": {"advertising": True}}}
EXPLICIT_INTEGRATIONS = {"Hotjar": True}
USER_ID = "user-1"
TRAITS = {"email": "ada@example.com", "plan": "pro"}
HEALTH = "/segment/health"


def send_privacy_calls(handle: RequestAnalytics, query: Mapping[str, str]) -> None:
    if query.get("identify") == "1":
        handle.identify(user_id=USER_ID, traits=TRAITS)
    if query.get("explicit") == "1":
        handle.track(event=EVENT, context=EXPLICIT_CONTEXT, integrations=EXPLICIT_INTEGRATIONS)
    else:
        handle.track(event=EVENT)


def hit(query: Mapping[str, str]) -> str:
    segment_web.track(event="Hit", properties={"tenant": query.get("tenant"), "n": query.get("n")})
    return "ok"


def send_from_pool(how: str) -> str:
    """Runs in a pool thread: the module-level call, with nothing passed in."""
    return segment_web.track(event="From Pool", properties={"how": how})


def carry_through_submit() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(segment_web.carry(send_from_pool), "submit").result(timeout=10)


async def carry_through_run_in_executor() -> None:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as pool:
        call = segment_web.carry(send_from_pool)
        await asyncio.wait_for(loop.run_in_executor(pool, call, "run_in_executor"), 10)


def streamed() -> Iterator[bytes]:
    yield PARTS[0]
    segment_web.track(event="Streamed")
    yield PARTS[1]


async def streamed_async() -> AsyncIterator[bytes]:
    yield PARTS[0]
    segment_web.track(event="Streamed")
    yield PARTS[1]


# Django (with a DRF authentication class) --------------------------------------------


def django_privacy(request: HttpRequest) -> HttpResponse:
    send_privacy_calls(request.analytics, request.GET)
    return HttpResponse(PAGE)


def django_consent(request: Any) -> dict[str, bool] | None:
    if not isinstance(request, HttpRequest):
        raise TypeError(f"expected a Django HttpRequest, got {request!r}")
    return consent.categories_from_header(request.headers.get(consent.HEADER))


def django_write_key(request: HttpRequest) -> str:
    return key_of(request.headers.get("X-Tenant"))


def django_who(request: HttpRequest) -> HttpResponse:
    if "user" in request.GET:  # the app's own authentication, say from a token
        segment_web.identify_request(request.GET["user"])
    segment_web.track(event="Who")
    return HttpResponse(PAGE)


def django_stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(streamed(), content_type="text/html")


def django_stream_async(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(streamed_async(), content_type="text/html")


def django_carry(request: HttpRequest) -> HttpResponse:
    carry_through_submit()
    return HttpResponse(PAGE)


async def django_carry_async(request: HttpRequest) -> HttpResponse:
    await carry_through_run_in_executor()
    return HttpResponse(PAGE)


def django_hit(request: HttpRequest) -> HttpResponse:
    return HttpResponse(hit(request.GET), content_type="text/plain")


class HeaderAuthentication(BaseAuthentication):
    """A DRF authentication class (the docs' recipe): the user the API knows is an
    external account id, told to the request with ``identify_request``."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        account = request.headers.get("X-Api-Account")
        if not account:
            return None
        segment_web.identify_request(f"account-{account}")
        return SimpleNamespace(pk=None, is_authenticated=True), None


class DrfWho(APIView):
    authentication_classes = [HeaderAuthentication]

    def get(self, request: Request) -> HttpResponse:
        segment_web.track(event="Who")
        return HttpResponse(PAGE)


def django_html(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


urlpatterns = [
    path("form/", django_html, name="form"),
    path("plain/", lambda request: HttpResponse("ok", content_type="text/plain")),
    path("data/", lambda request: JsonResponse({"ok": True})),
    path("missing/", lambda request: HttpResponseNotFound(PAGE)),
    path("go/", lambda request: HttpResponseRedirect("/form/")),
    path("health", django_html),
    re_path(r"^static/.*$", django_html),
    path(PRIVACY.strip("/") + "/", django_privacy, name="privacy"),
    path("drf-who/", DrfWho.as_view(), name="drf-who"),
    path("who/", django_who, name="who"),
    path("stream/", django_stream, name="stream"),
    path("stream-async/", django_stream_async, name="stream-async"),
    path("carry/", django_carry, name="carry"),
    path("carry-async/", django_carry_async, name="carry-async"),
    path("hit/", django_hit, name="hit"),
    path(HEALTH.lstrip("/"), health_view),
]


# Flask -------------------------------------------------------------------------------


def flask_app(config: Mapping[str, Any]) -> flask.Flask:
    """Segment is set up first: Flask runs before_request functions in the order they
    were registered, and ``authenticate`` needs the request's analytics in place."""
    app = flask.Flask(__name__)
    app.config.update(config)
    Segment(app)

    @app.before_request
    def authenticate() -> None:  # the app's own authentication, say from a token
        user = flask.request.args.get("user")
        if user:
            segment_web.identify_request(user)

    @app.route("/form/", methods=["GET", "POST"])
    def form() -> str:
        return PAGE

    app.add_url_rule("/plain/", "plain", lambda: flask.Response("ok", mimetype="text/plain"))
    app.add_url_rule("/data/", "data", lambda: flask.jsonify(ok=True))
    app.add_url_rule("/missing/", "missing", lambda: (PAGE, 404))
    app.add_url_rule("/go/", "go", lambda: flask.redirect("/form/"))
    app.add_url_rule("/health", "health", lambda: PAGE)
    app.add_url_rule("/static/site.css", "css", lambda: PAGE)

    @app.get(PRIVACY)
    def privacy() -> str:
        send_privacy_calls(flask.g.analytics, flask.request.args)
        return PAGE

    @app.get("/who/")
    def who() -> str:
        segment_web.track(event="Who")
        return PAGE

    @app.get("/stream/")
    def stream() -> flask.Response:
        return flask.Response(flask.stream_with_context(streamed()), mimetype="text/html")

    @app.get("/stream-plain/")
    def stream_plain() -> flask.Response:  # without stream_with_context
        return flask.Response(streamed(), mimetype="text/html")

    @app.get("/carry/")
    def carry() -> str:
        carry_through_submit()
        return PAGE

    @app.get("/hit/")
    def hit_view() -> flask.Response:
        return flask.Response(hit(flask.request.args), mimetype="text/plain")

    return app


def flask_consent(request: Any) -> dict[str, bool] | None:
    if not isinstance(request, flask.Request):
        raise TypeError(f"expected a Flask Request, got {request!r}")
    return consent.categories_from_header(request.headers.get(consent.HEADER))


def flask_write_key() -> str:
    return key_of(flask.request.headers.get("X-Tenant"))


# ASGI: Starlette ---------------------------------------------------------------------


async def starlette_privacy(request: StarletteRequest) -> StarletteHTML:
    send_privacy_calls(request.state.analytics, request.query_params)
    return StarletteHTML(PAGE)


async def starlette_who(request: StarletteRequest) -> StarletteHTML:
    user = request.query_params.get("user")  # the app's own authentication
    if user:
        segment_web.identify_request(user)
    segment_web.track(event="Who")
    return StarletteHTML(PAGE)


async def starlette_stream(request: StarletteRequest) -> StarletteStreaming:
    return StarletteStreaming(streamed_async(), media_type="text/html")


async def starlette_carry(request: StarletteRequest) -> StarletteHTML:
    await carry_through_run_in_executor()
    return StarletteHTML(PAGE)


async def starlette_hit(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(hit(request.query_params))


async def starlette_html(request: StarletteRequest) -> StarletteHTML:
    return StarletteHTML(PAGE)


async def form(request: StarletteRequest) -> StarletteHTML:
    # An endpoint of its own, named as its route: Starlette before 1.7 does not record
    # which route matched, and the page is then named after the endpoint.
    return StarletteHTML(PAGE)


async def starlette_plain(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def starlette_data(request: StarletteRequest) -> JSONResponse:
    return JSONResponse({"ok": True})


async def starlette_missing(request: StarletteRequest) -> StarletteHTML:
    return StarletteHTML(PAGE, status_code=404)


async def starlette_go(request: StarletteRequest) -> RedirectResponse:
    return RedirectResponse("/form/", status_code=302)


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/form/", form, methods=["GET", "POST"], name="form"),
            Route("/plain/", starlette_plain),
            Route("/data/", starlette_data),
            Route("/missing/", starlette_missing),
            Route("/go/", starlette_go),
            Route("/health", starlette_html),
            Route("/static/site.css", starlette_html),
            Route(PRIVACY, starlette_privacy, name="privacy"),
            Route("/who/", starlette_who, name="who"),
            Route("/stream/", starlette_stream, name="stream"),
            Route("/carry/", starlette_carry, name="carry"),
            Route("/hit/", starlette_hit, name="hit"),
        ]
    )


asgi_write_key = scope_write_key


def asgi_consent(scope: Any) -> dict[str, bool] | None:
    if not isinstance(scope, dict) or scope.get("type") != "http":
        raise TypeError(f"expected an ASGI http scope, got {scope!r}")
    return consent.categories_from_header(StarletteRequest(scope).headers.get(consent.HEADER))


# FastAPI: OAuth2PasswordBearer + Depends ---------------------------------------------


def fastapi_app() -> FastAPI:
    app = FastAPI()
    oauth2 = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)

    async def current_user(token: str | None = Depends(oauth2)) -> str | None:
        user = token.removeprefix("token-of-") if token else None  # your token check
        if user:
            segment_web.identify_request(user)
        return user

    @app.get("/who/", response_class=HTMLResponse)
    async def who(user: str | None = Depends(current_user)) -> str:
        segment_web.track(event="Who")
        return PAGE

    @app.get("/who-sync/", response_class=HTMLResponse)
    def who_sync(user: str | None = Depends(current_user)) -> str:  # run in a threadpool
        segment_web.track(event="Who")
        return PAGE

    @app.get("/stream/")
    def stream() -> StreamingResponse:
        return StreamingResponse(streamed(), media_type="text/html")

    @app.get("/stream-async/")
    def stream_async() -> StreamingResponse:
        return StreamingResponse(streamed_async(), media_type="text/html")

    @app.get("/carry/", response_class=HTMLResponse)
    async def carry() -> str:
        await carry_through_run_in_executor()
        return PAGE

    @app.get("/carry-sync/", response_class=HTMLResponse)
    def carry_sync() -> str:
        carry_through_submit()
        return PAGE

    return app


# Litestar: a guard --------------------------------------------------------------------


def litestar_app() -> Litestar:
    async def identify_guard(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        user = connection.query_params.get("user")  # your authentication
        if user:
            segment_web.identify_request(user)

    @get("/who/", guards=[identify_guard], media_type=MediaType.HTML, name="who")
    async def who() -> str:
        segment_web.track(event="Who")
        return PAGE

    @get("/stream/", media_type=MediaType.HTML, name="stream")
    async def stream() -> Stream:
        return Stream(streamed_async(), media_type=MediaType.HTML)

    @get("/carry/", media_type=MediaType.HTML, name="carry")
    async def carry() -> str:
        await carry_through_run_in_executor()
        return PAGE

    # logging_config=None: Litestar would otherwise replace the root logging handlers.
    @get("/items/{item_id:int}", media_type=MediaType.HTML)  # no name: the path template
    async def item() -> str:
        return PAGE

    return Litestar(route_handlers=[who, stream, carry, item], logging_config=None)


# Quart ----------------------------------------------------------------------------------


def quart_app() -> quart.Quart:
    app = quart.Quart(__name__)

    @app.before_request
    async def authenticate() -> None:
        user = quart.request.args.get("user")
        if user:
            segment_web.identify_request(user)

    @app.get("/who/")
    async def who() -> str:
        segment_web.track(event="Who")
        return PAGE

    @app.get("/stream/")
    async def stream() -> Any:
        return quart.Response(streamed_async(), mimetype="text/html")

    @app.get("/carry/")
    async def carry() -> str:
        await carry_through_run_in_executor()
        return PAGE

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return PAGE

    return app
