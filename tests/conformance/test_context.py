"""What a request gives its messages through each adapter: the anonymous id from the
browser's cookie, the client's address, user agent, locale, page and campaign."""

from __future__ import annotations

from tests.conformance.drivers import HOST, Driver

QUERY = "utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=mugs&utm_content=top&q=1"
BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    "Accept-Language": "de-CH;q=0.8, fr-CH, en;q=0.5",
    "Referer": "https://news.example/today",
    "Cookie": "theme=dark; ajs_anonymous_id=%22a1b2-c3%22; other=1",
    "X-Forwarded-For": "203.0.113.9, 127.0.0.1",
}


def test_every_context_field_reaches_the_wire(adapter: Driver) -> None:
    adapter.start()
    reply = adapter.get(f"/form/?{QUERY}", peer="127.0.0.1", headers=BROWSER, https=True)
    assert reply.status == 200
    assert reply.cookies == {}  # the browser's id is kept
    (page,) = adapter.sent(1)
    assert page["type"] == "page" and page["name"] == "form"
    assert page["anonymousId"] == "a1b2-c3"
    assert "userId" not in page
    expected_page = {
        "path": "/form/",
        "url": f"https://{HOST}/form/?{QUERY}",
        "search": f"?{QUERY}",
        "referrer": "https://news.example/today",
    }
    assert page["properties"] == expected_page
    context = dict(page["context"])
    assert context.pop("library")["name"] == "segment-web"
    assert context == {
        "ip": "203.0.113.9",  # from the trusted proxy at 127.0.0.1
        "userAgent": BROWSER["User-Agent"],
        "locale": "fr-CH",  # the highest q
        "page": expected_page,
        "campaign": {
            "source": "news",
            "medium": "email",
            "name": "spring",
            "term": "mugs",
            "content": "top",
        },
    }
