"""Flask specifics of what a request puts on the wire: the path under a mount prefix, the
cookie across the test client's jar, the user id from the session or a callable (the
rules every adapter shares are in tests/conformance)."""

from __future__ import annotations

import logging
import uuid

import pytest
from werkzeug.http import parse_cookie

from tests.flask.conftest import MakeApp, delivered, pages
from tests.support.recording_server import RecordingServer


def set_cookies(response: object) -> dict[str, str]:
    """name → full Set-Cookie header value."""
    headers = response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return {header.split("=", 1)[0]: header for header in headers}


def test_app_mounted_under_a_prefix_reports_the_browser_path(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    app.test_client().get("/", base_url="http://localhost/shop/")
    (page,) = delivered(app, server)
    assert page["context"]["page"]["path"] == "/shop/"
    assert page["context"]["page"]["url"] == "http://localhost/shop/"


def test_a_new_anonymous_id_is_set_as_a_cookie(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app()
    client = app.test_client()
    response = client.get("/api/item", base_url="https://shop.example")
    header = set_cookies(response)["ajs_anonymous_id"]
    value = parse_cookie(header)["ajs_anonymous_id"]
    assert uuid.UUID(value)
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"path", "max-age", "secure", "samesite"} <= attributes
    assert "httponly" not in attributes  # analytics.js must read it
    assert "Path=/" in header and "SameSite=Lax" in header and "Max-Age=31536000" in header
    # The browser sends it back: the next request keeps the same id and sets nothing.
    again = client.get("/api/item", base_url="https://shop.example")
    assert "ajs_anonymous_id" not in set_cookies(again)
    first, second = delivered(app, server)
    assert first["anonymousId"] == second["anonymousId"] == value


def test_login_flow_with_a_session_based_user_id(
    make_app: MakeApp, server: RecordingServer
) -> None:
    from flask import session

    app = make_app(user_id=lambda: session.get("user_id"))
    client = app.test_client()
    client.get("/")
    login = client.post("/login", data={"user": "u-42"}, follow_redirects=True)
    assert login.status_code == 200 and b"Account" in login.data
    client.post("/logout")
    client.get("/")
    home, identify, track, account, home_again = delivered(app, server)
    anonymous_id = home["anonymousId"]
    assert "userId" not in home
    assert identify["type"] == "identify" and identify["userId"] == "u-42"
    assert identify["traits"] == {"plan": "pro"}
    assert track["event"] == "Account Viewed" and track["userId"] == "u-42"
    assert account["type"] == "page" and account["name"] == "account"
    assert account["userId"] == "u-42"
    assert "userId" not in home_again
    assert {m["anonymousId"] for m in (identify, track, account, home_again)} == {anonymous_id}


def test_user_id_config_key_is_a_callable(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app(config={"SEGMENT_USER_ID": lambda: 1234})
    app.test_client().get("/api/item")
    (track,) = delivered(app, server)
    assert track["userId"] == "1234"


def test_a_user_id_callable_that_raises_does_not_break_the_response(
    make_app: MakeApp, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_user() -> str:
        raise LookupError("the user store is down")

    app = make_app(user_id=broken_user)
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        response = app.test_client().get("/")
    assert response.status_code == 200 and b"Home" in response.data
    (page,) = pages(delivered(app, server))
    assert "userId" not in page and page["anonymousId"]
    assert "could not read the request's user id" in caplog.text
