"""Real Starlette and FastAPI apps for the ASGI middleware tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import HTMLResponse as FastAPIHTML
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

import segment_web
from segment_web.asgi.protocol import Scope
from segment_web.core.handle import current_request_analytics

PAGE = "<!doctype html><title>t</title><p>hello</p>"


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


async def article(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


async def clicked(request: Request) -> JSONResponse:
    request.state.analytics.track(event="Clicked", properties={"via": "handle"})
    return JSONResponse({"ok": True})


def sync_track(request: Request) -> PlainTextResponse:
    # A sync endpoint: Starlette runs it in a worker thread.
    segment_web.track(event="Sync Tracked")
    return PlainTextResponse("ok")


def _track_in_background(event: str) -> None:
    segment_web.track(event=event)


async def background(request: Request) -> PlainTextResponse:
    async def later() -> None:
        await asyncio.sleep(0)
        segment_web.track(event="Async Background")

    tasks = BackgroundTask(_track_in_background, "Thread Background")
    response = PlainTextResponse("ok", background=tasks)
    await asyncio.create_task(later())
    return response


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(5):
            yield f"<p>chunk {n}</p>".encode()
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/html")


async def own_cookie(request: Request) -> HTMLResponse:
    response = HTMLResponse(PAGE)
    response.set_cookie("ajs_anonymous_id", "chosen-by-app")
    return response


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    state = websocket.scope.get("state", {})
    inside = "analytics" in state or current_request_analytics.get() is not None
    await websocket.send_text(f"{text}|analytics={inside}")
    await websocket.close()


def routes() -> list[Any]:
    return [
        Route("/", home, name="home"),
        Route("/articles/{slug}", article, name="article"),
        Route("/click", clicked),
        Route("/sync", sync_track),
        Route("/background", background),
        Route("/stream", stream),
        Route("/own-cookie", own_cookie),
        Mount("/docs", routes=[Route("/intro", home, name="intro")]),
        WebSocketRoute("/ws", echo),
    ]


def starlette_app(middleware: Sequence[Middleware] = (), **kwargs: Any) -> Starlette:
    return Starlette(routes=routes(), middleware=list(middleware), **kwargs)


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/products/{product_id}", response_class=FastAPIHTML)
    async def product(product_id: int) -> str:
        return PAGE

    @app.get("/landing", response_class=FastAPIHTML, name="Landing Page")
    async def landing() -> str:
        return PAGE

    @app.get("/items")
    def items(tasks: BackgroundTasks) -> dict[str, Any]:
        # A sync path operation: FastAPI runs it in a worker thread.
        segment_web.track(event="Items Listed")
        tasks.add_task(_track_in_background, "Items Background")
        return {"items": []}

    return app


def http_scope(path: str, **extra: Any) -> Scope:
    """A plain GET scope for calling an app directly, as a server would."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.test")],
        "client": ("192.0.2.1", 4000),
        "server": ("example.test", 80),
    }
    scope.update(extra)
    return scope
