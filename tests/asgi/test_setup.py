"""Building the middleware (options, the Starlette and FastAPI forms) and its failure modes."""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.testclient import TestClient

import segment_web
from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from segment_web.asgi.protocol import Message, Receive, Scope, Send
from tests.asgi.apps import PAGE, fastapi_app, http_scope, starlette_app
from tests.support.recording_server import RecordingServer


def test_options_build_the_client(
    server: RecordingServer, middlewares: list[SegmentMiddleware]
) -> None:
    app = SegmentMiddleware(starlette_app(), write_key="wk-1", host=server.url, flush_at=1)
    middlewares.append(app)
    assert app.client.write_key == "wk-1"
    with TestClient(app) as http:
        http.get("/")
    app.client.flush(timeout=10)
    (request,) = server.requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"wk-1:").decode()
    assert request.body["batch"][0]["name"] == "home"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_queue_size": 0}, "max_queue_size"),
        ({"host": "ftp://x"}, "host"),
        ({"page_exclude": "/admin"}, "page_exclude"),
        ({"forwarded_allow_ips": "10.0.0.300"}, "forwarded_allow_ips"),
        ({"flush_every": 5}, "flush_every"),
        ({"write_key": ""}, "write_key"),
    ],
)
def test_a_bad_option_raises_naming_it(options: dict[str, Any], named: str) -> None:
    options.setdefault("write_key", "k")
    with pytest.raises(ValueError, match=named):
        SegmentMiddleware(starlette_app(), **options)


def test_without_a_write_key_it_warns_and_sends_nothing(
    caplog: pytest.LogCaptureFixture, middlewares: list[SegmentMiddleware]
) -> None:
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        app = SegmentMiddleware(starlette_app())
    middlewares.append(app)
    assert "write_key is not set" in caplog.text
    assert app.client.enable is False
    with TestClient(app) as http:
        response = http.get("/click")
    assert response.json() == {"ok": True}
    assert app.client.flush(timeout=5) == 0


def test_client_options_do_not_mix_with_a_given_client(client: Analytics) -> None:
    with pytest.raises(ValueError, match="flush_at"):
        SegmentMiddleware(starlette_app(), client=client, flush_at=3)
    with pytest.raises(ValueError, match="write_key"):
        SegmentMiddleware(starlette_app(), client=client, write_key="k")
    with pytest.raises(ValueError, match="client must be"):
        SegmentMiddleware(starlette_app(), client="k")  # type: ignore[arg-type]
    assert SegmentMiddleware(starlette_app(), client=client, auto_page=False).client is client


def test_the_starlette_middleware_list_form(server: RecordingServer) -> None:
    options: dict[str, Any] = {
        "write_key": "wk-2",
        "host": server.url,
        "flush_at": 1,
        "shutdown_timeout": 2,
    }
    app = starlette_app([Middleware(SegmentMiddleware, **options)])
    with TestClient(app) as http:
        http.get("/articles/a")
    (page,) = server.wait_for(1)
    assert page["name"] == "article"


def test_the_fastapi_add_middleware_form(server: RecordingServer) -> None:
    app = fastapi_app()
    app.add_middleware(
        SegmentMiddleware, write_key="wk-3", host=server.url, flush_at=1, shutdown_timeout=2
    )
    with TestClient(app) as http:
        http.get("/products/3")
    (page,) = server.wait_for(1)
    assert (page["name"], page["properties"]["path"]) == ("product", "/products/3")


def test_a_bare_fastapi_app_needs_no_lifespan_of_its_own(client: Analytics) -> None:
    app = FastAPI()
    app.add_middleware(SegmentMiddleware, client=client)
    with TestClient(app) as http:
        assert http.get("/nothing").status_code == 404


class BrokenRoute:
    @property
    def name(self) -> str:
        raise RuntimeError("route name exploded")


async def broken_route_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    scope["route"] = BrokenRoute()
    headers = [(b"content-type", b"text/html")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE.encode()})


def test_an_adapter_failure_is_logged_and_the_response_goes_on(
    client: Analytics, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = SegmentMiddleware(broken_route_app, client=client)
    with TestClient(app) as http:
        response = http.get("/")
    assert response.text == PAGE
    assert "naming the automatic page failed" in caplog.text
    assert "route name exploded" in caplog.text
    client.flush(timeout=10)
    assert server.messages == []


@pytest.mark.anyio
async def test_an_unreadable_scope_is_logged_and_the_app_still_runs(
    client: Analytics, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[dict[str, Any]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope.get("state", {})))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    # Header values must be bytes; a broken server handing over str must not cost the response.
    scope = http_scope("/", headers=[(b"user-agent", "not-bytes")])
    await SegmentMiddleware(inner, client=client)(scope, receive, send)
    assert "reading the ASGI request failed" in caplog.text
    assert seen == [{}]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


@pytest.mark.anyio
async def test_the_apps_own_exceptions_propagate(client: Analytics) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("app bug")

    transport = httpx.ASGITransport(app=SegmentMiddleware(failing, client=client))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with pytest.raises(LookupError, match="app bug"):
            await http.get("/")


def test_flush_at_zero_becomes_one_as_in_the_client(middlewares: list[SegmentMiddleware]) -> None:
    app = SegmentMiddleware(starlette_app(), write_key="k", flush_at=0, enable=False)
    middlewares.append(app)
    assert app.client.flush_at == 1


def test_the_middleware_client_becomes_the_default_as_a_visible_step(
    middlewares: list[SegmentMiddleware], no_default_client: None
) -> None:
    app = SegmentMiddleware(starlette_app(), write_key="k", enable=False)
    middlewares.append(app)
    assert segment_web.default_client() is app.client
