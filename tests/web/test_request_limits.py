"""Hostile request data: unusable cookies, oversized headers and queries, proxy headers."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from segment_web import Analytics
from segment_web.testing import capture_events
from segment_web.web import limits
from segment_web.web.anonymous_id import new_anonymous_id, read_anonymous_id
from segment_web.web.context import RequestRules, preferred_locale
from segment_web.web.facts import RequestFacts
from segment_web.web.proxies import TrustedProxies
from segment_web.web.settings import parse_settings
from segment_web.web.tracked_request import TrackedRequest
from tests.web import hostile
from tests.web.factories import request_facts


def facts(
    query_string: str = "", headers: dict[str, str] | None = None, cookie: str | None = None
) -> RequestFacts:
    return request_facts(
        query_string=query_string,
        peer="127.0.0.1",
        headers=headers,
        cookies={hostile.COOKIE: cookie} if cookie is not None else None,
    )


@pytest.mark.parametrize(
    "raw",
    [
        hostile.SURROGATE_COOKIE,
        "%22%5Cudfff-tail%22",
        "abc%01def",  # a control character
        "%22a%5Cu0000b%22",  # NUL inside a JSON-quoted id
        "abc%C2%85def",  # NEL, a C1 control character
        "%EF%BF%BD",  # U+FFFD: bytes that were not UTF-8
        "%22" + "x" * 201 + "%22",
        "x" * 201,
        "%22%20%22",  # only white space
        "%22%22",  # the classic quotes around nothing
        "%22",  # one quote: as the classic format, its inside is empty
    ],
)
def test_an_unusable_cookie_counts_as_absent(raw: str) -> None:
    assert read_anonymous_id(raw) is None


def test_unicode_and_punctuation_ids_are_kept() -> None:
    assert read_anonymous_id(hostile.UNICODE_ID) == hostile.UNICODE_ID
    assert read_anonymous_id("%22%C3%BCn%C3%AF%22") == "ünï"
    assert read_anonymous_id("x" * 200) == "x" * 200
    assert read_anonymous_id("%22" + "x" * 200 + "%22") == "x" * 200
    assert read_anonymous_id("%22 a b %22") == "a b"  # inside the quotes, trimmed
    assert read_anonymous_id('%22a\\"b%22') == 'a"b'  # a JSON escape inside, decoded


def test_a_hostile_cookie_gets_a_new_id_a_new_cookie_and_valid_messages() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    client = Analytics("k", enable=False)
    tracked = TrackedRequest(RequestRules(settings), client, facts(cookie=hostile.SURROGATE_COOKIE))
    assert tracked.new_anonymous_id is not None
    cookie = tracked.cookie()
    assert cookie is not None and cookie.value == tracked.new_anonymous_id
    with capture_events() as events:
        tracked.handle.track(event="Viewed")  # raised ValidationError before
    assert events[0]["anonymousId"] == tracked.new_anonymous_id
    client.shutdown()


def test_new_anonymous_ids_come_from_the_operating_systems_random_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ids set as cookies must not come from a seeded generator (the message ids' fast
    # one): with the OS source fixed, the id is exactly the UUID of those bytes.
    monkeypatch.setattr(os, "urandom", lambda size: b"\x42" * size)
    assert new_anonymous_id() == str(uuid.UUID(bytes=b"\x42" * 16, version=4))


@pytest.mark.parametrize(
    ("value", "max_bytes"),
    [
        ("a" * 5000, 1024),
        ('"' * 5000, 1024),
        ("\x01" * 5000, 1024),
        ("é" * 5000, 1025),  # two bytes each: an odd limit must not split one
        ("🎉" * 5000, 1023),  # four bytes each
        ("ab\ud800cd" * 1000, 100),
    ],
)
def test_bounded_values_fit_their_json_bytes_and_keep_whole_characters(
    value: str, max_bytes: int
) -> None:
    bounded = limits.bounded(value, max_bytes)
    encoded = json.dumps(bounded, ensure_ascii=False).encode("utf-8")  # no lone surrogate left
    assert len(encoded) - 2 <= max_bytes
    assert len(encoded) - 2 > max_bytes - 12  # cut near the limit, not far below
    assert value.replace("\ud800", "\ufffd").startswith(bounded)
    assert limits.bounded("short", 1024) == "short"


def test_oversized_request_data_still_makes_valid_messages() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    client = Analytics("k", enable=False)
    request = facts(
        query_string=hostile.LONG_CAMPAIGN_QUERY + "&utm_campaign=%01" + "%22" * 3000,
        headers={
            "User-Agent": hostile.LONG_USER_AGENT,
            "Referer": hostile.LONG_REFERRER,
            "Accept-Language": "-".join(["abcdefgh"] * 2000),
        },
    )
    tracked = TrackedRequest(RequestRules(settings), client, request)
    with capture_events() as events:
        assert tracked.finish(200, "text/html", "cart")  # the page repeats context.page
        tracked.handle.track(event="Big", properties={"note": "x" * 10_000})
    for message in events:
        hostile.assert_valid_with_a_new_id(message)
    page, track = events
    context = page["context"]
    assert context["userAgent"] == '"' * (limits.USER_AGENT // 2)
    assert context["campaign"]["source"] == "s" * limits.CAMPAIGN_VALUE
    assert context["page"]["url"].startswith("https://shop.example/cart?utm_source=sss")
    assert "locale" not in context  # a tag that long is no language tag
    assert track["properties"]["note"] == "x" * 10_000  # the caller's share stays free
    client.shutdown()


def test_a_locale_tag_is_bounded() -> None:
    assert preferred_locale("en-" + "a" * 80) is None
    assert preferred_locale("zh-Hant-TW") == "zh-Hant-TW"


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # nginx's proxy_set_header X-Real-IP, from a trusted proxy
        ("127.0.0.1", {"X-Real-IP": "198.51.100.9"}, "198.51.100.9"),
        # an untrusted peer cannot claim another address, with any header
        ("203.0.113.7", {"X-Real-IP": "198.51.100.9"}, "203.0.113.7"),
        ("203.0.113.7", {"Forwarded": "for=198.51.100.9"}, "203.0.113.7"),
        # RFC 7239, quoted IPv6 with a port, several proxies read from the right
        ("127.0.0.1", {"Forwarded": 'for="[2001:db8::5]:4711";proto=https'}, "2001:db8::5"),
        ("127.0.0.1", {"Forwarded": "for=6.6.6.6, For=198.51.100.9;by=x"}, "198.51.100.9"),
        ("127.0.0.1", {"Forwarded": "for=unknown"}, "127.0.0.1"),
        ("127.0.0.1", {"Forwarded": "proto=https"}, "127.0.0.1"),
        # X-Forwarded-For wins over the others; Forwarded over X-Real-IP
        (
            "127.0.0.1",
            {"X-Forwarded-For": "198.51.100.1", "Forwarded": "for=198.51.100.2"},
            "198.51.100.1",
        ),
        (
            "127.0.0.1",
            {"Forwarded": "for=198.51.100.2", "X-Real-IP": "198.51.100.3"},
            "198.51.100.2",
        ),
        ("127.0.0.1", {"X-Real-IP": "not an address"}, "127.0.0.1"),
    ],
)
def test_x_real_ip_and_forwarded_follow_the_trust_rule(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    request = request_facts(peer=peer, headers=headers)
    assert TrustedProxies("127.0.0.1,::1").request_ip(request) == expected


def test_facts_read_headers_and_cookies_lazily() -> None:
    asked: list[str] = []

    def header(name: str) -> str | None:
        asked.append(name)
        return "1" if name == "sec-gpc" else None

    request = RequestFacts("GET", "https", "h", "/", header=header)
    assert asked == []
    assert request.header("sec-gpc") == "1"
    assert request.cookie("anything") is None
    assert asked == ["sec-gpc"]
