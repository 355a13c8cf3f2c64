"""The automatic page call's Django specifics: named after the URL name or the view, and
its URL naming only a host ALLOWED_HOSTS allows (the rules every adapter shares are in
tests/conformance/test_pages.py)."""

from __future__ import annotations

from django.test import Client, override_settings

from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.support.recording_server import RecordingServer


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
