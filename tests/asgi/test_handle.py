"""The request's handle: request.state, module-level calls in threads and tasks, the user."""

from __future__ import annotations

import pytest
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    SimpleUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from tests.asgi.apps import fastapi_app, starlette_app
from tests.support.recording_server import RecordingServer


def test_the_handle_in_request_state_fills_the_call(
    client: Analytics, server: RecordingServer
) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-9")
        http.get("/click?utm_medium=email", headers={"User-Agent": "probe/1"})
    client.flush(timeout=10)
    (track,) = server.messages
    assert track["event"] == "Clicked"
    assert track["properties"] == {"via": "handle"}
    assert track["anonymousId"] == "visitor-9"
    assert track["context"]["userAgent"] == "probe/1"
    assert track["context"]["campaign"] == {"medium": "email"}
    assert track["context"]["page"]["path"] == "/click"


def test_a_sync_endpoint_in_a_worker_thread_uses_the_handle(
    client: Analytics, server: RecordingServer
) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-3")
        assert http.get("/sync").text == "ok"
    client.flush(timeout=10)
    (track,) = server.messages
    assert track["event"] == "Sync Tracked"
    assert track["anonymousId"] == "visitor-3"
    assert track["context"]["page"]["path"] == "/sync"


def test_background_tasks_keep_the_request_context(
    client: Analytics, server: RecordingServer
) -> None:
    app = SegmentMiddleware(starlette_app(), client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-4")
        assert http.get("/background?ref=1").text == "ok"
    client.flush(timeout=10)
    tracks = {m["event"]: m for m in server.messages}
    assert set(tracks) == {"Async Background", "Thread Background"}
    for track in tracks.values():
        assert track["anonymousId"] == "visitor-4"
        assert track["context"]["page"]["url"] == "http://testserver/background?ref=1"


def test_fastapi_sync_route_and_background_task_use_the_handle(
    client: Analytics, server: RecordingServer
) -> None:
    app = fastapi_app()
    app.add_middleware(SegmentMiddleware, client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-5")
        assert http.get("/items").json() == {"items": []}
        assert http.get("/products/7").status_code == 200
        assert http.get("/landing").status_code == 200
    client.flush(timeout=10)
    messages = server.messages
    assert [(m["type"], m.get("event") or m.get("name")) for m in messages] == [
        ("track", "Items Listed"),
        ("track", "Items Background"),
        ("page", "product"),
        ("page", "Landing Page"),
    ]
    assert {m["anonymousId"] for m in messages} == {"visitor-5"}
    assert [m["context"]["page"]["path"] for m in messages] == [
        "/items",
        "/items",
        "/products/7",
        "/landing",
    ]


class HeaderAuth(AuthenticationBackend):
    """Logs in whoever the X-User header names."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        name = conn.headers.get("x-user")
        return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name else None


@pytest.mark.parametrize("auth_outside", [True, False])
def test_an_authenticated_scope_user_is_the_user_id(
    client: Analytics, server: RecordingServer, auth_outside: bool
) -> None:
    auth = Middleware(AuthenticationMiddleware, backend=HeaderAuth())
    segment = Middleware(SegmentMiddleware, client=client)
    # Starlette's list runs outermost first: both orders must work.
    stack = [auth, segment] if auth_outside else [segment, auth]
    with TestClient(starlette_app(stack)) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-6")
        http.get("/", headers={"X-User": "alice"})
        http.get("/click", headers={"X-User": "alice"})
        http.get("/click")
    client.flush(timeout=10)
    page, track, anonymous = server.messages
    assert (page["type"], page["userId"]) == ("page", "alice")
    assert (track["type"], track["userId"]) == ("track", "alice")
    assert "userId" not in anonymous
    assert {m["anonymousId"] for m in server.messages} == {"visitor-6"}


def test_a_user_id_callable_reads_the_scope(client: Analytics, server: RecordingServer) -> None:
    def account(scope: dict[str, object]) -> str | None:
        headers = dict(scope["headers"])  # type: ignore[call-overload]
        value = headers.get(b"x-account")
        return value.decode() if value else None

    app = SegmentMiddleware(starlette_app(), client=client, user_id=account)
    with TestClient(app) as http:
        http.get("/click", headers={"X-Account": "acct-42"})
        http.get("/click")
    client.flush(timeout=10)
    first, second = server.messages
    assert first["userId"] == "acct-42"
    assert "userId" not in second
