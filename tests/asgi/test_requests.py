"""ASGI specifics of what a request puts on the wire: a TestClient peer that is no
address, a cookie the app sets itself, pages named after mounted routes, root_path, any
iterable of headers (the rules every adapter shares are in tests/conformance)."""

from __future__ import annotations

import uuid
from importlib.metadata import version

import httpx
import pytest
from packaging.version import Version
from starlette.testclient import TestClient

from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from segment_web.asgi.protocol import Message, Receive, Scope, Send
from tests.asgi.apps import http_scope, starlette_app
from tests.support.recording_server import RecordingServer


def test_a_new_visitor_gets_the_cookie_and_its_id(
    client: Analytics, server: RecordingServer
) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        response = http.get("/")
    client.flush(timeout=10)
    set_cookie = response.headers["set-cookie"]
    value = set_cookie.split(";")[0].removeprefix("ajs_anonymous_id=")
    uuid.UUID(value)
    assert set_cookie == f"ajs_anonymous_id={value}; Path=/; Max-Age=31536000; SameSite=Lax"
    assert response.text.startswith("<!doctype html>")
    (page,) = server.messages
    assert page["anonymousId"] == value
    # TestClient's peer is the name "testclient", not an address: no ip.
    assert "ip" not in page["context"]
    assert page["context"]["page"]["url"] == "http://testserver/"


def test_a_cookie_the_app_sets_itself_is_not_doubled(client: Analytics) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        response = http.get("/own-cookie")
    assert response.headers.get_list("set-cookie") == [
        "ajs_anonymous_id=chosen-by-app; Path=/; SameSite=lax"
    ]


# Starlette before 1.7 does not tell which route matched: the page is named after the
# endpoint, here `home` mounted as the route named `intro`.
MOUNTED_ROUTE_PAGE_NAME = "intro" if Version(version("starlette")) >= Version("1.7") else "home"


def test_pages_are_named_after_the_matched_route(
    client: Analytics, server: RecordingServer
) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-1")
        for url in ("/", "/articles/x", "/docs/intro", "/stream"):
            assert http.get(url).status_code == 200
    client.flush(timeout=10)
    pages = server.messages
    assert [(m["name"], m["properties"]["path"]) for m in pages] == [
        ("home", "/"),
        ("article", "/articles/x"),
        (MOUNTED_ROUTE_PAGE_NAME, "/docs/intro"),
        ("stream", "/stream"),
    ]
    assert {m["anonymousId"] for m in pages} == {"visitor-1"}


@pytest.mark.parametrize("path_has_root", [True, False])
@pytest.mark.anyio
async def test_root_path_is_part_of_the_page_path(
    client: Analytics, server: RecordingServer, path_has_root: bool
) -> None:
    # uvicorn ≥ 0.26 puts root_path inside path; older servers (and TestClient) do not.
    app = SegmentMiddleware(starlette_app(), client=client)
    transport = httpx.ASGITransport(app=app, root_path="/shop")
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.example") as http:
        if path_has_root:
            response = await http.get("/shop/articles/a")
        else:
            response = await http.get("/articles/a")
    assert response.status_code == 200
    await client.aflush(timeout=10)
    page = server.messages[0]
    assert page["name"] == "article"
    assert page["properties"]["path"] == "/shop/articles/a"
    assert page["properties"]["url"] == "http://shop.example/shop/articles/a"


@pytest.mark.anyio
async def test_response_headers_given_as_any_iterable_reach_the_server(
    client: Analytics, server: RecordingServer
) -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        pairs = [(b"Content-Type", b"text/html; charset=utf-8"), (b"x-app", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": iter(pairs)})
        await send({"type": "http.response.body", "body": b"<p>hi</p>"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    await SegmentMiddleware(inner, client=client)(http_scope("/welcome"), receive, send)
    names = [name for name, _ in sent[0]["headers"]]
    assert names == [b"Content-Type", b"x-app", b"set-cookie"]
    await client.aflush(timeout=10)
    (page,) = server.messages
    assert page["properties"]["path"] == "/welcome"
    assert "name" not in page  # a bare ASGI app has no route to name the page after
