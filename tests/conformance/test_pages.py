"""The automatic page call through each adapter: only a successful GET answered with
HTML, outside the excluded paths, named after the route, with the request's page
properties; turned off or given other exclusions by the settings."""

from __future__ import annotations

import pytest

from tests.conformance.drivers import HOST, Driver


def test_a_successful_html_get_sends_one_page_named_after_the_route(adapter: Driver) -> None:
    adapter.start()
    referrer = "https://mail.example/"
    assert adapter.get("/form/?utm_medium=email", headers={"Referer": referrer}).status == 200
    (page,) = adapter.sent(1)
    assert page["type"] == "page"
    assert page["name"] == "form"
    expected = {
        "url": f"http://{HOST}/form/?utm_medium=email",
        "path": "/form/",
        "search": "?utm_medium=email",
        "referrer": referrer,
    }
    assert page["properties"] == page["context"]["page"] == expected
    assert page["context"]["campaign"] == {"medium": "email"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/plain/", 200),  # text/plain
        ("GET", "/data/", 200),  # JSON
        ("GET", "/health", 200),  # HTML, but excluded by default
        ("GET", "/static/site.css", 200),  # the same
        ("POST", "/form/", 200),  # HTML, but not a GET
        ("HEAD", "/form/", 200),
        ("GET", "/go/", 302),
        ("GET", "/missing/", 404),  # HTML, not 2xx
        ("GET", "/no-such-route/", 404),
    ],
)
def test_no_page_for_other_responses(adapter: Driver, method: str, path: str, status: int) -> None:
    adapter.start()
    assert adapter.request(method, path).status == status
    assert adapter.get("/form/").status == 200  # the control: an HTML GET sends its page
    (only,) = adapter.sent(1)
    assert only["type"] == "page" and only["name"] == "form"


def test_auto_page_can_be_turned_off(adapter: Driver) -> None:
    adapter.start(auto_page=False)
    assert adapter.get("/form/").status == 200
    assert adapter.get("/hit/").status == 200  # the control: a track call still goes
    (track,) = adapter.sent(1)
    assert track["type"] == "track"


def test_page_exclude_replaces_the_default_patterns(adapter: Driver) -> None:
    adapter.start(page_exclude=[r"/form/.*"])
    assert adapter.get("/form/").status == 200
    assert adapter.get("/static/site.css").status == 200  # the defaults no longer apply
    (page,) = adapter.sent(1)
    assert page["properties"]["path"] == "/static/site.css"
