"""Scopes other than a plain request: websocket, streaming responses, lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from segment_web import Analytics
from segment_web import api as module_api
from segment_web.asgi import FlushOnShutdown, SegmentMiddleware
from segment_web.asgi.protocol import Message, Receive, Scope, Send
from tests.asgi.apps import http_scope, routes, starlette_app
from tests.asgi.conftest import MakeClient
from tests.support.recording_server import RecordingServer, Reply


def test_a_websocket_passes_through_untouched(client: Analytics, server: RecordingServer) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http, http.websocket_connect("/ws") as socket:
        socket.send_text("ping")
        assert socket.receive_text() == "ping|analytics=False"
    client.flush(timeout=10)
    assert server.messages == []


@pytest.mark.anyio
async def test_a_streaming_response_is_passed_on_chunk_by_chunk(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # A client that holds messages until flushed, so client.queued counts the page.
    client = make_client(flush_at=100, flush_interval=60)
    client.flushed = True
    forwarded = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"<p>one</p>"
        # Only reached if the first chunk already got past the middleware to the server.
        await asyncio.wait_for(forwarded.wait(), timeout=5)
        yield b"<p>two</p>"
        yield b"<p>three</p>"

    async def endpoint(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/html")

    app = SegmentMiddleware(Starlette(routes=[Route("/feed", endpoint)]), client=client)
    sent: list[Message] = []
    queued_at_send: list[int] = []

    async def send(message: Message) -> None:
        sent.append(message)
        queued_at_send.append(client.queued)
        if message.get("body") == b"<p>one</p>":
            forwarded.set()

    async def receive() -> Message:
        await asyncio.Event().wait()  # no disconnect during the test
        raise AssertionError("unreachable")

    scope = http_scope("/feed", asgi={"version": "3.0", "spec_version": "2.4"})
    await app(scope, receive, send)

    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 4
    assert [m.get("body") for m in sent[1:]] == [b"<p>one</p>", b"<p>two</p>", b"<p>three</p>", b""]
    # The page is queued after the last body message went to the server, not before.
    assert queued_at_send == [0, 0, 0, 0, 0]
    assert client.queued == 1
    await client.aflush(timeout=10)
    assert [m["name"] for m in server.messages] == ["endpoint"]


def test_a_streamed_page_arrives_whole_through_the_test_client(client: Analytics) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        response = http.get("/stream")
    assert response.text == "".join(f"<p>chunk {n}</p>" for n in range(5))


def test_lifespan_shutdown_flushes_what_is_queued(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # Large flush_at and flush_interval, no first-message send: only the flush at
    # lifespan shutdown can deliver these.
    client = make_client(flush_at=100, flush_interval=60)
    client.flushed = True

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        client.track(anonymous_id="server", event="App Stopping")

    app = starlette_app([Middleware(SegmentMiddleware, client=client)], lifespan=lifespan)
    with TestClient(app) as http:
        http.get("/")
        http.get("/click")
        assert client.queued == 2
        assert server.requests == []
    # TestClient's exit waited for lifespan.shutdown.complete, so the batch is in.
    assert [m["type"] for m in server.messages] == ["page", "track", "track"]
    assert server.messages[-1]["event"] == "App Stopping"


def test_lifespan_flush_with_options_built_client(server: RecordingServer) -> None:
    middleware = [
        Middleware(
            SegmentMiddleware,
            write_key="from-options",
            host=server.url,
            flush_at=100,
            flush_interval=60,
            shutdown_timeout=3,
        )
    ]
    with TestClient(starlette_app(middleware)) as http:
        http.get("/click")
        server.wait_for(1)  # the first message goes at once, the rest wait
        http.get("/click")
        http.get("/click")
        assert len(server.messages) == 1
    assert [m["event"] for m in server.messages] == ["Clicked"] * 3


async def no_lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that knows only HTTP, as Django's ASGI handler is."""
    if scope["type"] != "http":
        raise ValueError(f"cannot handle {scope['type']}")
    scope["state"]["analytics"].track(event="Raw Request")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def returns_on_lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # takes lifespan.startup and leaves without answering
        return
    await no_lifespan_app(scope, receive, send)


@pytest.mark.parametrize("inner", [no_lifespan_app, returns_on_lifespan_app])
def test_an_app_without_lifespan_still_flushes_at_shutdown(
    make_client: MakeClient, server: RecordingServer, inner: Any
) -> None:
    client = make_client(flush_at=100, flush_interval=60)
    client.flushed = True
    with TestClient(SegmentMiddleware(inner, client=client)) as http:
        assert http.get("/").status_code == 204
        assert http.get("/").status_code == 204
        assert server.requests == []
    assert [m["event"] for m in server.messages] == ["Raw Request"] * 2


def test_a_failing_app_startup_is_reported_as_before(client: Analytics) -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database unreachable")
        yield

    app = starlette_app([Middleware(SegmentMiddleware, client=client)], lifespan=lifespan)
    with pytest.raises(RuntimeError, match="database unreachable"), TestClient(app):
        pass


@pytest.mark.anyio
async def test_the_shutdown_flush_does_not_block_the_event_loop(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(delay=0.4))
    client = make_client(flush_at=100, flush_interval=60)
    client.flushed = True
    client.track(anonymous_id="a", event="Queued")
    app = SegmentMiddleware(Starlette(routes=routes()), client=client)

    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outbox.get(), 5))["type"] == "lifespan.startup.complete"
    await inbox.put({"type": "lifespan.shutdown"})
    ticks = 0
    while outbox.empty():
        assert ticks < 500, "shutdown never completed"
        ticks += 1
        await asyncio.sleep(0.01)
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await asyncio.wait_for(lifespan, 5)
    assert ticks >= 10  # the loop kept ticking through the 0.4 s delivery
    assert [m["event"] for m in server.messages] == ["Queued"]


@pytest.mark.anyio
async def test_flush_on_shutdown_flushes_the_default_client_of_an_app_without_lifespan(
    make_client: MakeClient, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(flush_at=100, flush_interval=60)
    client.flushed = True
    monkeypatch.setattr(module_api, "_default", client)
    app = FlushOnShutdown(no_lifespan_app)
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outbox.get(), 5))["type"] == "lifespan.startup.complete"
    client.track(anonymous_id="a", event="Sent by a view")
    assert server.messages == []  # held by flush_at/flush_interval until shutdown
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await asyncio.wait_for(outbox.get(), 10))["type"] == "lifespan.shutdown.complete"
    await asyncio.wait_for(lifespan, 5)
    assert [m["event"] for m in server.messages] == ["Sent by a view"]
