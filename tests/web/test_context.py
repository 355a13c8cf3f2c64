"""The framework-agnostic request layer, tested without any framework."""

from __future__ import annotations

import re
import uuid

import pytest

from segment_web import Analytics
from segment_web.testing import capture_events
from segment_web.web.anonymous_id import read_anonymous_id
from segment_web.web.context import RequestRules, campaign_from_query, preferred_locale
from segment_web.web.facts import RequestFacts
from segment_web.web.integration import build_client, never_raise
from segment_web.web.pages import PageRules
from segment_web.web.proxies import TrustedProxies
from segment_web.web.settings import DEFAULT_PAGE_EXCLUDE, parse_settings
from segment_web.web.tracked_request import TrackedRequest
from tests.support.recording_server import RecordingServer
from tests.web.factories import request_facts

HEADERS = {
    "user_agent": "user-agent",
    "accept_language": "accept-language",
    "referrer": "referer",
    "forwarded_for": "x-forwarded-for",
}


def facts(**overrides: object) -> RequestFacts:
    """Request facts; ``user_agent=``, ``referrer=``… set those headers, ``headers=``
    any others, ``anonymous_id_cookie=`` the analytics.js cookie."""
    headers = dict(overrides.pop("headers", None) or {})  # type: ignore[call-overload]
    for name, header in HEADERS.items():
        if name in overrides:
            headers[header] = overrides.pop(name)
    cookie = overrides.pop("anonymous_id_cookie", None)
    return request_facts(
        **overrides,  # type: ignore[arg-type]
        headers=headers,
        cookies={"ajs_anonymous_id": cookie} if cookie is not None else {},
    )


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", None, "127.0.0.1,::1", "203.0.113.7"),
        # an untrusted peer cannot claim another address
        ("203.0.113.7", "1.2.3.4", "127.0.0.1,::1", "203.0.113.7"),
        # a trusted proxy's header is believed
        ("127.0.0.1", "198.51.100.9", "127.0.0.1,::1", "198.51.100.9"),
        ("::1", "198.51.100.9", "127.0.0.1,::1", "198.51.100.9"),
        # read from the right past trusted proxies; the spoofed left entry is ignored
        ("127.0.0.1", "6.6.6.6, 198.51.100.9, 10.0.0.2", "127.0.0.1,10.0.0.0/8", "198.51.100.9"),
        # an invalid hop ends the walk at the last good address
        ("127.0.0.1", "not-an-ip", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "198.51.100.9:4711", "127.0.0.1", "198.51.100.9"),
        ("127.0.0.1", "[2001:db8::5]:443", "127.0.0.1", "2001:db8::5"),
        # a dual-stack socket shows an IPv4 proxy as IPv4-mapped: still that proxy
        ("::ffff:127.0.0.1", "198.51.100.9", "127.0.0.1,::1", "198.51.100.9"),
        ("::ffff:10.1.2.3", "198.51.100.9", "10.0.0.0/8", "198.51.100.9"),
        ("10.1.2.3", "198.51.100.9", "::ffff:10.0.0.0/104", "198.51.100.9"),
        (
            "127.0.0.1",
            "6.6.6.6, 198.51.100.9, ::ffff:10.0.0.2",
            "127.0.0.1,10.0.0.0/8",
            "198.51.100.9",
        ),
        # "*" trusts every peer
        ("203.0.113.7", "198.51.100.9", "*", "198.51.100.9"),
        # every hop trusted: the leftmost one is the client
        ("127.0.0.1", "10.0.0.3, 10.0.0.2", "127.0.0.1,10.0.0.0/8", "10.0.0.3"),
        # a peer that is not an address (a test client's name, a unix socket) gives no ip
        ("testclient", "198.51.100.9", "127.0.0.1", None),
        (None, None, "127.0.0.1", None),
    ],
)
def test_client_ip_follows_forwarded_allow_ips(
    peer: str | None, forwarded: str | None, trusted: str, expected: str | None
) -> None:
    assert TrustedProxies(trusted).client_ip(peer, forwarded) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("48d213bb-95c3-4f8d-af97-86b2b404dcfe", "48d213bb-95c3-4f8d-af97-86b2b404dcfe"),
        ("%2248d213bb-95c3%22", "48d213bb-95c3"),  # classic analytics.js: JSON, URL-encoded
        ("%22a%20b%22", "a b"),
        ("%22%22", None),
        ('"abc"', "abc"),
        ("%22unterminated", '"unterminated'),
        ("", None),
        (None, None),
        ("x" * 500, None),
    ],
)
def test_anonymous_id_cookie_formats(raw: str | None, expected: str | None) -> None:
    assert read_anonymous_id(raw) == expected


def test_locale_is_the_highest_weighted_tag() -> None:
    assert preferred_locale("fr-CH, fr;q=0.9, en;q=0.8") == "fr-CH"
    assert preferred_locale("en;q=0.5, de-DE;q=0.9, *;q=0.1") == "de-DE"
    assert preferred_locale("*") is None
    assert preferred_locale(None) is None


def test_campaign_from_utm_parameters() -> None:
    query = "utm_source=news&utm_medium=email&utm_campaign=spring%20sale&utm_term=shoes&x=1"
    assert campaign_from_query(query) == {
        "source": "news",
        "medium": "email",
        "name": "spring sale",
        "term": "shoes",
    }
    assert campaign_from_query("page=2") == {}


def test_context_holds_every_request_fact() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    context = RequestRules(settings).context(
        facts(
            query_string="utm_source=ad&q=shoes",
            user_agent="Mozilla/5.0",
            accept_language="de-DE,de;q=0.9",
            referrer="https://search.example/?q=shoes",
        )
    )
    assert context == {
        "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0",
        "locale": "de-DE",
        "page": {
            "path": "/cart",
            "url": "https://shop.example/cart?utm_source=ad&q=shoes",
            "search": "?utm_source=ad&q=shoes",
            "referrer": "https://search.example/?q=shoes",
        },
        "campaign": {"source": "ad"},
    }


def test_capture_ip_false_leaves_ip_out() -> None:
    settings, _ = parse_settings({"write_key": "k", "capture_ip": False})
    assert "ip" not in RequestRules(settings).context(facts())


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("/static/app.css", True),
        ("/media/avatars/1.png", True),
        ("/health", True),
        ("/healthz/", True),
        ("/favicon.ico", True),
        ("/assets/logo.svg", True),
        ("/healthy-food", False),
        ("/blog/health-tips", False),
        ("/", False),
        ("/products/42", False),
    ],
)
def test_default_page_exclusions_are_anchored(path: str, excluded: bool) -> None:
    assert PageRules(True, DEFAULT_PAGE_EXCLUDE).excluded(path) is excluded


def test_user_patterns_match_whole_paths() -> None:
    rules = PageRules(True, ("health", "/admin/.*"))
    assert rules.excluded("/health") and rules.excluded("/health/")
    assert not rules.excluded("/healthy-food")
    assert rules.excluded("/admin/users/1")
    assert not rules.excluded("/administrators")


@pytest.mark.parametrize(
    ("method", "status", "content_type", "path", "wanted"),
    [
        ("GET", 200, "text/html; charset=utf-8", "/", True),
        ("GET", 204, "text/html", "/", True),
        ("GET", 200, "application/json", "/", False),
        ("POST", 200, "text/html", "/", False),
        ("GET", 404, "text/html", "/", False),
        ("GET", 302, "text/html", "/", False),
        ("GET", 200, None, "/", False),
        ("GET", 200, "text/html", "/health", False),
    ],
)
def test_auto_page_decision(
    method: str, status: int, content_type: str | None, path: str, wanted: bool
) -> None:
    assert PageRules(True, DEFAULT_PAGE_EXCLUDE).wants_page(method, status, content_type, path) is (
        wanted
    )
    assert not PageRules(False, ()).wants_page("GET", 200, "text/html", "/")


def test_scope_makes_an_anonymous_id_and_a_cookie_when_there_is_none() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    client = Analytics("k", enable=False)
    scope = TrackedRequest(RequestRules(settings), client, facts())
    assert scope.new_anonymous_id is not None
    assert uuid.UUID(scope.new_anonymous_id).version == 4
    cookie = scope.cookie()
    assert cookie is not None
    header = cookie.header()
    assert header.startswith(f"ajs_anonymous_id={scope.new_anonymous_id}; Path=/; Max-Age=31536000")
    assert "SameSite=Lax" in header and "Secure" in header and "HttpOnly" not in header
    assert cookie.kwargs()["httponly"] is False
    client.shutdown()


def test_scope_reuses_the_cookie_id_and_sets_no_cookie() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    client = Analytics("k", enable=False)
    scope = TrackedRequest(RequestRules(settings), client, facts(anonymous_id_cookie="%22a-1%22"))
    assert scope.handle.anonymous_id == "a-1"
    assert scope.cookie() is None
    client.shutdown()


def test_cookie_setting_off_sets_no_cookie() -> None:
    settings, _ = parse_settings({"write_key": "k", "set_anonymous_id_cookie": False})
    client = Analytics("k", enable=False)
    scope = TrackedRequest(RequestRules(settings), client, facts(scheme="http"))
    assert scope.new_anonymous_id and scope.cookie() is None
    client.shutdown()


def test_scope_finish_sends_a_named_page_with_page_properties(server: RecordingServer) -> None:
    settings, _ = parse_settings({"write_key": "k"})
    client = Analytics("k", host=server.url, flush_at=1)
    scope = TrackedRequest(
        RequestRules(settings), client, facts(query_string="a=1"), user_id=lambda: 42
    )
    assert scope.finish(200, "text/html", "cart") is True
    assert scope.finish(200, "application/json", "cart") is False
    client.flush(timeout=10)
    (page,) = server.wait_for(1)
    assert page["type"] == "page"
    assert page["name"] == "cart"
    assert page["userId"] == "42"
    assert page["anonymousId"] == scope.new_anonymous_id
    assert page["properties"] == {
        "path": "/cart",
        "url": "https://shop.example/cart?a=1",
        "search": "?a=1",
    }
    assert page["context"]["ip"] == "203.0.113.7"
    assert page["context"]["page"]["path"] == "/cart"
    client.shutdown()


def test_user_id_callable_is_asked_as_each_message_is_built_and_not_before() -> None:
    settings, _ = parse_settings({"write_key": "k"})
    answers = [5, 5, 6]
    calls: list[int] = []

    def user() -> int:
        calls.append(1)
        return answers[len(calls) - 1]

    client = Analytics("k", enable=False)
    scope = TrackedRequest(RequestRules(settings), client, facts(), user_id=user)
    assert calls == []
    with capture_events() as events:
        scope.handle.track(event="A")
        scope.handle.track(event="B")
        scope.handle.track(event="C")  # the user changed during the request
    assert len(calls) == 3
    assert [e["userId"] for e in events] == ["5", "5", "6"]
    client.shutdown()


def test_settings_problems_name_the_option() -> None:
    settings, problems = parse_settings(
        {"flush_at": "twenty", "host": "ftp://x", "page_exclude": ["("], "bogus": 1},
        name_of=lambda name: "SEGMENT_" + name.upper(),
    )
    messages = {p.option: p.message for p in problems}
    assert messages["flush_at"].startswith("SEGMENT_FLUSH_AT must be an integer")
    assert "SEGMENT_HOST" in messages["host"]
    assert "SEGMENT_PAGE_EXCLUDE has an invalid pattern" in messages["page_exclude"]
    assert re.match(r"SEGMENT_BOGUS is not a setting; known: SEGMENT_WRITE_KEY", messages["bogus"])
    missing = [p for p in problems if p.option == "write_key"]
    assert missing and not missing[0].fatal
    assert settings.flush_at == 20  # a bad value falls back to the default
    client = build_client(settings)
    assert client.enable is False  # no write key: validates, sends nothing
    client.shutdown()


def test_never_raise_logs_the_failure_and_swallows_it(caplog: pytest.LogCaptureFixture) -> None:
    with never_raise("reading the user"):
        raise KeyError("boom")
    (record,) = [r for r in caplog.records if r.name == "segment_web"]
    assert "reading the user failed; the response goes on" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    with pytest.raises(KeyboardInterrupt), never_raise("anything"):
        raise KeyboardInterrupt


def test_timeout_must_be_positive_as_the_client_requires() -> None:
    _, problems = parse_settings({"write_key": "k", "timeout": 0})
    assert [p.message for p in problems] == ["timeout must be a positive number of seconds, got 0"]
