"""Auto page, the request handle (g.analytics, the proxy, module-level calls), streaming,
failing views and failures of the extension itself."""

from __future__ import annotations

import logging

import pytest
from flask import Flask, Response, g

import segment_web
from segment_web.core.handle import current_request_analytics
from segment_web.flask import Segment, analytics
from tests.flask.conftest import MakeApp, create_app, delivered, pages
from tests.support.recording_server import RecordingServer


def test_a_successful_html_get_sends_one_page_named_after_the_endpoint(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    client = app.test_client()
    client.get("/?ref=home", headers={"Referer": "https://search.example/"})
    client.get("/blog/first-post")
    home, post = delivered(app, server)
    assert home["type"] == post["type"] == "page"
    assert home["name"] == "index"
    assert home["properties"] == {
        "path": "/",
        "url": "http://localhost/?ref=home",
        "search": "?ref=home",
        "referrer": "https://search.example/",
    }
    assert post["name"] == "blog.show"  # a blueprint's endpoint
    assert post["properties"]["path"] == "/blog/first-post"


def test_a_json_view_sends_its_track_but_no_page(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    response = app.test_client().get("/api/item")
    assert response.json == {"id": 7}
    (track,) = delivered(app, server)
    assert track["type"] == "track" and track["event"] == "Item Viewed"
    assert track["context"]["page"]["path"] == "/api/item"


def test_g_proxy_and_module_level_calls_carry_the_request_context(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    response = app.test_client(use_cookies=False).get(
        "/events?utm_source=ads",
        headers={"User-Agent": "UA/1", "Cookie": "ajs_anonymous_id=anon-9"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.data == b"same=True"
    messages = delivered(app, server)
    assert [m["event"] for m in messages] == ["From g", "From Proxy", "From Module"]
    for message in messages:
        assert message["anonymousId"] == "anon-9"
        assert message["context"]["ip"] == "198.51.100.7"
        assert message["context"]["userAgent"] == "UA/1"
        assert message["context"]["campaign"] == {"source": "ads"}
        assert message["context"]["page"]["path"] == "/events"
    # The context variable was reset at the end of the request.
    assert current_request_analytics.get() is None


def test_an_async_view_sees_the_request_handle(make_app: MakeApp, server: RecordingServer) -> None:
    pytest.importorskip("asgiref")  # Flask's async views need flask[async]
    app = make_app()
    app.test_client(use_cookies=False).get("/async", headers={"Cookie": "ajs_anonymous_id=a-1"})
    (track,) = delivered(app, server)
    assert track["event"] == "From Async" and track["anonymousId"] == "a-1"
    assert current_request_analytics.get() is None


def test_requests_inside_a_pushed_app_context(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app()
    with app.app_context():  # Flask then reuses this app context (and its g)
        client = app.test_client(use_cookies=False)
        client.get("/api/item", headers={"Cookie": "ajs_anonymous_id=first"})
        client.get("/api/item", headers={"Cookie": "ajs_anonymous_id=second"})
        assert current_request_analytics.get() is None
    first, second = delivered(app, server)
    assert (first["anonymousId"], second["anonymousId"]) == ("first", "second")


def test_the_proxy_outside_a_request(make_app: MakeApp) -> None:
    app = make_app()
    with pytest.raises(RuntimeError, match="only available during a request"):
        analytics.track(event="x")
    with app.test_request_context("/"), pytest.raises(RuntimeError):
        analytics.track(event="x")  # a request context, but no request went through hooks
    assert "unbound" in repr(analytics)


def test_the_proxy_in_an_app_without_the_extension() -> None:
    app = create_app()
    app.view_functions["hello"] = lambda: Response(repr(g.get("analytics")))
    assert app.test_client().get("/hello").data == b"None"
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="Segment"):
        analytics.track(event="x")


def test_a_streaming_response_streams_and_is_not_read(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    produced = app.extensions["produced"]
    response = app.test_client().get("/stream", buffered=False)
    assert response.is_streamed
    # The test client pulls the first chunk to start the response; the rest is unread.
    assert produced == [0]
    assert b"".join(response.response) == b"<p>0</p><p>1</p><p>2</p>"  # type: ignore[arg-type]
    response.close()
    assert produced == [0, 1, 2]
    (page,) = delivered(app, server)  # decided from the status and headers alone
    assert page["type"] == "page" and page["name"] == "stream"
    assert "ajs_anonymous_id" in response.headers["Set-Cookie"]


def test_a_stream_with_context_generator_can_use_the_handle(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    response = app.test_client(use_cookies=False).get(
        "/stream-in-context", headers={"Cookie": "ajs_anonymous_id=s-1"}, buffered=False
    )
    assert b"".join(response.response) == b"<p>start</p><p>end</p>"  # type: ignore[arg-type]
    response.close()
    messages = delivered(app, server)
    assert sorted(m["type"] for m in messages) == ["page", "track"]
    (track,) = [m for m in messages if m["type"] == "track"]
    assert track["event"] == "Streamed" and track["anonymousId"] == "s-1"
    assert current_request_analytics.get() is None


def test_a_failing_view_keeps_its_500_its_messages_and_sends_no_page(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    (track,) = delivered(app, server)
    assert track["event"] == "Before Boom"
    assert current_request_analytics.get() is None


def test_a_failing_view_propagates_its_error_when_flask_propagates(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    app.testing = True  # PROPAGATE_EXCEPTIONS: the error leaves the test client
    with pytest.raises(RuntimeError, match="the view failed"):
        app.test_client().get("/boom")
    (track,) = delivered(app, server)
    assert track["event"] == "Before Boom"
    assert current_request_analytics.get() is None  # teardown_request reset it all the same


def test_an_error_handler_page_is_a_page_when_it_answers_2xx_html(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    app.register_error_handler(RuntimeError, lambda error: ("<p>sorry</p>", 200))
    assert app.test_client().get("/boom").data == b"<p>sorry</p>"
    track, page = delivered(app, server)
    assert track["event"] == "Before Boom"
    assert page["type"] == "page" and page["name"] == "boom"


class CookieRefusingResponse(Response):
    def set_cookie(self, *args: object, **kwargs: object) -> None:
        raise OSError("this response cannot take cookies")


def test_a_failure_inside_the_extension_is_logged_and_the_response_goes_on(
    make_app: MakeApp, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    app.response_class = CookieRefusingResponse
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        response = app.test_client().get("/")
    assert response.status_code == 200 and b"Home" in response.data
    assert "setting the anonymous-id cookie failed" in caplog.text
    assert len(pages(delivered(app, server))) == 1  # the page call still went


def test_a_before_request_hook_registered_first_may_skip_analytics(
    server: RecordingServer,
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_HOST=server.url, SEGMENT_FLUSH_AT=1)
    app.before_request(lambda: Response("<p>closed</p>", mimetype="text/html"))
    Segment(app)
    try:
        response = app.test_client().get("/")
        assert response.data == b"<p>closed</p>" and "Set-Cookie" not in response.headers
        assert app.extensions["segment"].flush(timeout=10) == 0
        assert server.messages == []
    finally:
        app.extensions["segment"].shutdown(timeout=5)


def test_module_level_calls_outside_a_request_do_not_use_a_stale_handle(
    make_app: MakeApp,
) -> None:
    app = make_app()
    app.test_client().get("/events")
    assert current_request_analytics.get() is None
    if segment_web.default_client() is None:
        with pytest.raises(RuntimeError, match="not configured"):
            segment_web.track(user_id="1", event="Outside")


def test_segment_client_property_is_the_current_apps_client(make_app: MakeApp) -> None:
    first, second = make_app(), make_app()
    segment = Segment()
    with first.app_context():
        assert segment.client is first.extensions["segment"]
    with second.app_context():
        assert segment.client is second.extensions["segment"]
    with pytest.raises(RuntimeError):
        segment.client  # noqa: B018 - outside an app context, like flask.current_app
    plain = Flask("plain")
    with plain.app_context(), pytest.raises(LookupError, match="plain"):
        segment.client  # noqa: B018
