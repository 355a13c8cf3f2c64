"""The automatic page call: only a successful GET answered with HTML, outside excluded paths."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client, override_settings

from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.support.recording_server import RecordingServer


def test_only_a_successful_html_get_sends_a_page(
    segment: Integration, server: RecordingServer
) -> None:
    client = Client(raise_request_exception=False)
    first = client.get("/api/hello/")  # JSON
    assert client.post("/").status_code == 200  # HTML, but not a GET
    assert client.head("/").status_code == 200
    assert client.get("/missing/").status_code == 404  # HTML, not 2xx
    assert client.get("/boom/").status_code == 500
    assert client.get("/static/site.css").status_code == 200  # HTML, excluded path
    assert client.get("/health").status_code == 200
    client.get("/?utm_medium=email", headers={"referer": "https://mail.example/"})
    (page,) = sent(segment, server, 1)
    assert page["type"] == "page"
    assert page["name"] == "home"
    expected = {
        "url": "http://testserver/?utm_medium=email",
        "path": "/",
        "search": "?utm_medium=email",
        "referrer": "https://mail.example/",
    }
    assert page["properties"] == expected
    assert page["context"]["page"] == expected
    assert page["context"]["campaign"] == {"medium": "email"}
    assert page["anonymousId"] == first.cookies["ajs_anonymous_id"].value


def test_the_page_is_named_after_the_url_name_or_the_view(
    segment: Integration, server: RecordingServer
) -> None:
    client = Client()
    client.get("/blog/7/")
    client.get("/blog/")
    response = client.get("/stream/")
    assert b"".join(response.streaming_content) == b"<!doctype html><p>streamed</p>"
    pages = sent(segment, server, 3)
    assert [page["name"] for page in pages] == ["blog:article", "ArticleList", "stream"]


def test_auto_page_can_be_turned_off(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    integration = use_segment(AUTO_PAGE=False)
    Client().get("/")
    integration.client.flush(timeout=10)
    assert server.messages == []


def test_page_exclude_replaces_the_default_patterns(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    integration = use_segment(PAGE_EXCLUDE=[r"/blog/.*"])
    client = Client()
    client.get("/blog/7/")
    client.get("/static/site.css")
    (page,) = sent(integration, server, 1)
    assert page["properties"]["path"] == "/static/site.css"


def test_the_page_url_names_only_a_host_allowed_hosts_allows(
    segment: Integration, server: RecordingServer
) -> None:
    client = Client(raise_request_exception=False)
    client.get("/", headers={"host": "shop.example:8000"})
    client.get("/", headers={"host": "evil.example"})  # Django answers 400 elsewhere
    with override_settings(ALLOWED_HOSTS=["evil.example"]):
        client.get("/", headers={"host": "evil.example"})
        client.get("/", headers={"host": "shop.example"})
    with override_settings(ALLOWED_HOSTS=[], DEBUG=True):
        client.get("/", headers={"host": "app.localhost"})
    with override_settings(USE_X_FORWARDED_HOST=True):
        client.get("/", headers={"x-forwarded-host": "shop.example", "host": "evil.example"})
        client.get("/", headers={"x-forwarded-host": "evil.example", "host": "shop.example"})
    pages = sent(segment, server, 7)
    assert [page["properties"]["url"] for page in pages] == [
        "http://shop.example:8000/",
        "http://testserver/",
        "http://evil.example/",
        "http://testserver/",
        "http://app.localhost/",
        "http://shop.example/",
        "http://testserver/",
    ]
