"""The anonymous id and its cookie through each adapter: a new visitor gets analytics.js's
cookie (Lax, a year, readable by scripts, Secure over HTTPS), a returning one keeps the
id it sent in any of analytics.js's formats; the cookie can be renamed, scoped, or not
set at all."""

from __future__ import annotations

import uuid

import pytest

from tests.conformance.drivers import Driver

COOKIE = "ajs_anonymous_id"
ONE_YEAR = 365 * 24 * 3600


def test_a_new_visitor_gets_a_lax_one_year_script_readable_cookie(adapter: Driver) -> None:
    adapter.start()
    reply = adapter.get("/hit/")
    assert reply.status == 200
    (track,) = adapter.sent(1)
    cookie = reply.cookies[COOKIE]
    assert uuid.UUID(cookie.value).version == 4
    assert cookie.value == track["anonymousId"]
    assert int(cookie["max-age"]) == ONE_YEAR
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert not cookie["httponly"]  # analytics.js must read it
    assert not cookie["secure"]  # plain HTTP


def test_over_https_the_cookie_is_secure_and_set_on_any_response(adapter: Driver) -> None:
    adapter.start(anonymous_id_cookie_max_age=60)
    reply = adapter.get("/data/", https=True)  # JSON: no page, still a cookie
    assert reply.status == 200
    cookie = reply.cookies[COOKIE]
    assert cookie["secure"] and int(cookie["max-age"]) == 60
    assert cookie["samesite"].lower() == "lax"


@pytest.mark.parametrize(
    "raw",
    ["%22anon-classic%22", "anon-classic", '"anon-classic"'],
    ids=["classic-json-quoted", "plain", "quoted"],
)
def test_the_anonymous_id_comes_from_the_analytics_js_cookie(adapter: Driver, raw: str) -> None:
    adapter.start()
    reply = adapter.get("/hit/", headers={"Cookie": f"theme=dark; {COOKIE}={raw}; other=1"})
    assert reply.status == 200
    assert COOKIE not in reply.cookies  # the browser's id is kept
    (track,) = adapter.sent(1)
    assert track["anonymousId"] == "anon-classic"


def test_the_cookie_setting_can_be_turned_off(adapter: Driver) -> None:
    adapter.start(set_anonymous_id_cookie=False)
    reply = adapter.get("/hit/")
    assert reply.status == 200 and reply.cookies == {}
    (track,) = adapter.sent(1)
    assert uuid.UUID(track["anonymousId"])  # the request still has an id


def test_the_cookie_name_domain_and_max_age_are_settings(adapter: Driver) -> None:
    adapter.start(
        anonymous_id_cookie="visitor",
        anonymous_id_cookie_domain=".shop.example",
        anonymous_id_cookie_max_age=3600,
    )
    new = adapter.get("/hit/")
    assert COOKIE not in new.cookies
    cookie = new.cookies["visitor"]
    assert cookie["domain"].lstrip(".") == "shop.example" and int(cookie["max-age"]) == 3600
    known = adapter.get("/hit/", headers={"Cookie": f"visitor=v-1; {COOKIE}=ignored"})
    assert known.cookies == {}
    first, second = adapter.sent(2)
    assert first["anonymousId"] == cookie.value
    assert second["anonymousId"] == "v-1"
