"""Hostile request data through each adapter (tests/web/hostile.py): the response is
200 and the message valid, with a fresh anonymous id where the browser's is unusable."""

from __future__ import annotations

from tests.conformance.drivers import Driver
from tests.web import hostile


def test_an_unusable_cookie_is_replaced(adapter: Driver) -> None:
    adapter.start()
    reply = adapter.get("/hit/", headers={"Cookie": f"{hostile.COOKIE}={hostile.SURROGATE_COOKIE}"})
    assert reply.status == 200
    (track,) = adapter.sent(1)
    hostile.assert_valid_with_a_new_id(track)
    assert reply.cookies[hostile.COOKIE].value == track["anonymousId"]


def test_oversized_headers_and_query_still_send_valid_messages(adapter: Driver) -> None:
    adapter.start()
    headers = {"User-Agent": hostile.LONG_USER_AGENT, "Referer": hostile.LONG_REFERRER}
    assert adapter.get(f"/who/?{hostile.LONG_CAMPAIGN_QUERY}", headers=headers).status == 200
    messages = adapter.sent(2)
    (page,) = [m for m in messages if m["type"] == "page"]
    for message in messages:
        hostile.assert_valid_with_a_new_id(message)
    assert page["context"]["userAgent"].startswith('"""')
    assert page["context"]["campaign"]["source"].startswith("sss")
    assert page["context"]["campaign"]["medium"].startswith("mmm")


def test_a_raw_utf8_cookie_is_read_as_utf8(adapter: Driver) -> None:
    adapter.start()
    cookie = f"{hostile.COOKIE}={hostile.UNICODE_ID}".encode()
    reply = adapter.get("/hit/", headers={"Cookie": cookie})
    assert reply.status == 200
    assert hostile.COOKIE not in reply.cookies  # the browser's id is kept
    (track,) = adapter.sent(1)
    assert track["anonymousId"] == hostile.UNICODE_ID
