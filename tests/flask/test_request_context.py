"""What a request puts on the wire: context fields, anonymous id and its cookie, user id."""

from __future__ import annotations

import logging
import uuid

import pytest
from werkzeug.http import parse_cookie

from tests.flask.conftest import MakeApp, delivered, pages
from tests.support.recording_server import RecordingServer

UTM = "utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=mugs&utm_content=top&q=1"
BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    "Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8",
    "Referer": "https://news.example/today",
}


def set_cookies(response: object) -> dict[str, str]:
    """name → full Set-Cookie header value."""
    headers = response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return {header.split("=", 1)[0]: header for header in headers}


def test_every_context_field_reaches_the_wire(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app()
    response = app.test_client().get(
        f"/?{UTM}",
        base_url="https://shop.example",
        headers={**BROWSER, "X-Forwarded-For": "203.0.113.9, 127.0.0.1"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # a trusted proxy by default
    )
    assert response.status_code == 200
    (page,) = delivered(app, server)
    context = page["context"]
    assert context["ip"] == "203.0.113.9"
    assert context["userAgent"] == BROWSER["User-Agent"]
    assert context["locale"] == "fr-CH"
    assert context["page"] == {
        "url": f"https://shop.example/?{UTM}",
        "path": "/",
        "search": f"?{UTM}",
        "referrer": "https://news.example/today",
    }
    assert context["campaign"] == {
        "source": "news",
        "medium": "email",
        "name": "spring",
        "term": "mugs",
        "content": "top",
    }
    assert context["library"]["name"] == "segment-web"


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
