"""The same small app in every framework, for the identity scenarios:

- ``GET /who/?user=ID``: the app's own authentication code says who the user is with
  ``segment_web.identify_request(ID)`` (Flask code, a FastAPI dependency, a Litestar
  guard, a Quart before-request function, a DRF authentication class), then tracks
  ``"Who"`` and answers HTML (so the automatic page follows);
- ``GET /stream/``: a streamed HTML body whose generator tracks ``"Streamed"`` with the
  module-level call; ``/stream-async/`` the same with an async generator where the
  framework has them;
- ``GET /carry/``: hands ``send_from_pool`` to a thread pool through ``segment_web.carry``
  (``executor.submit``), and in async frameworks also through ``loop.run_in_executor``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import flask
import quart
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
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

import segment_web
from segment_web.flask import Segment

PAGE = "<!doctype html><title>who</title><p>hello</p>"
PARTS = (b"<!doctype html><p>", b"streamed</p>")


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


urlpatterns = [
    path("drf-who/", DrfWho.as_view(), name="drf-who"),
    path("who/", django_who, name="who"),
    path("stream/", django_stream, name="stream"),
    path("stream-async/", django_stream_async, name="stream-async"),
    path("carry/", django_carry, name="carry"),
    path("carry-async/", django_carry_async, name="carry-async"),
]


# Flask -------------------------------------------------------------------------------


def flask_app(config: dict[str, Any]) -> flask.Flask:
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

    return app


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
