"""Hostile request data through a real Flask app: the response is 200, the event valid."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from werkzeug.http import parse_cookie

import segment_web
from segment_web.flask import Segment
from segment_web.testing import capture_events
from tests.flask.conftest import MakeApp, create_app, delivered, integration_in
from tests.flask.test_request_context import set_cookies
from tests.support.doc_snippets import DOCS, run_snippet
from tests.support.recording_server import RecordingServer
from tests.web import hostile


def test_an_unusable_cookie_is_replaced(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app()
    client = app.test_client(use_cookies=False)
    cookie = f"{hostile.COOKIE}={hostile.SURROGATE_COOKIE}"
    response = client.get("/api/item", headers={"Cookie": cookie})
    assert response.status_code == 200
    (track,) = delivered(app, server)
    hostile.assert_valid_with_a_new_id(track)
    replaced = parse_cookie(set_cookies(response)[hostile.COOKIE])[hostile.COOKIE]
    assert replaced == track["anonymousId"]


def test_oversized_headers_and_query_still_send_a_valid_page(
    make_app: MakeApp, server: RecordingServer
) -> None:
    app = make_app()
    response = app.test_client().get(
        f"/?{hostile.LONG_CAMPAIGN_QUERY}",
        headers={"User-Agent": hostile.LONG_USER_AGENT, "Referer": hostile.LONG_REFERRER},
    )
    assert response.status_code == 200
    (page,) = delivered(app, server)
    assert page["type"] == "page"
    hostile.assert_valid_with_a_new_id(page)
    assert page["context"]["campaign"]["medium"].startswith("mmm")


def test_a_raw_utf8_cookie_is_read_as_utf8(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app()
    client = app.test_client(use_cookies=False)
    raw = hostile.as_wsgi(f"{hostile.COOKIE}={hostile.UNICODE_ID}")
    response = client.get("/api/item", environ_overrides={"HTTP_COOKIE": raw})
    assert response.status_code == 200
    (track,) = delivered(app, server)
    assert track["anonymousId"] == hostile.UNICODE_ID


def test_a_misspelled_key_is_warned_about_and_own_keys_can_be_quiet(
    caplog: pytest.LogCaptureFixture, apps: list[Flask]
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_FLUSH_EVERY=5, SEGMENT_BROWSER_KEY="b")
    app.config["SEGMENT_IGNORE_KEYS"] = ["SEGMENT_BROWSER_KEY"]
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        Segment(app, enable=False)
    apps.append(app)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned
    assert "SEGMENT_FLUSH_EVERY is not a setting" in warned[0]


def test_flush_at_zero_becomes_one(apps: list[Flask]) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_FLUSH_AT=0, SEGMENT_ENABLE=False)
    Segment(app)  # raised ValueError before
    apps.append(app)
    assert integration_in(app).client.flush_at == 1


def test_the_docs_quick_start_runs_as_written(no_default_client: None) -> None:
    app = run_snippet("## Configure", page=DOCS / "frameworks" / "flask.md")["app"]
    assert isinstance(app, Flask)
    try:
        with capture_events() as events:
            response = app.test_client().post("/signup", data={"email": "ada@example.com"})
            assert response.status_code == 200
            segment_web.track(user_id="u", event="Outside A Request")  # the adopted default
        assert [e.get("event") for e in events] == [None, "Signed Up", "Outside A Request"]
        assert events[1]["userId"] == "ada@example.com"
    finally:
        integration_in(app).client.shutdown(timeout=2)
