"""Session stitching (opt-in): the browser's session id from a header or a cookie, on
every message of the request, through every adapter; bad values count as absent."""

from __future__ import annotations

from typing import Any

import pytest

from segment_web.web.facts import RequestFacts
from segment_web.web.sessions import SessionIdRule
from segment_web.web.settings import parse_settings
from tests.identity.drivers import Adapter

SESSION = "1733600000123"


def visit(adapter: Adapter, headers: dict[str, str]) -> list[dict[str, Any]]:
    assert adapter.get("/who/", headers)[0] == 200
    return adapter.sent(2)


def test_off_by_default(adapter: Adapter) -> None:
    adapter.start()
    for message in visit(adapter, {"X-Session-Id": SESSION}):
        assert "sessionId" not in message["context"]
        assert "Actions Amplitude" not in message.get("integrations", {})


@pytest.mark.parametrize("source", ["header", "cookie"])
def test_the_session_id_is_stitched_on_every_message(adapter: Adapter, source: str) -> None:
    adapter.start(session_id_header="X-Session-Id", session_id_cookie="analytics_session_id")
    headers = (
        {"X-Session-Id": SESSION}
        if source == "header"
        else {"Cookie": f"analytics_session_id={SESSION}"}
    )
    for message in visit(adapter, headers):
        assert message["context"]["sessionId"] == int(SESSION)
        assert message["integrations"]["Actions Amplitude"] == {"session_id": int(SESSION)}


@pytest.mark.parametrize("value", ["abc", "-5", "0", "1" * 17, "12.5", "1733600000123; x", "0x1f"])
def test_an_unusable_session_id_counts_as_absent(adapter: Adapter, value: str) -> None:
    adapter.start(session_id_header="X-Session-Id")
    for message in visit(adapter, {"X-Session-Id": value}):
        assert "sessionId" not in message["context"]
        assert "Actions Amplitude" not in message.get("integrations", {})


def test_the_settings_are_checked() -> None:
    _, problems = parse_settings(
        {"write_key": "k", "session_id_header": "X Session", "session_id_cookie": 5}
    )
    assert {p.option for p in problems if p.fatal} == {"session_id_header", "session_id_cookie"}


def test_only_ascii_digits_make_a_session_id() -> None:
    rule = SessionIdRule("X-Session-Id", "sid")
    values = {"x-session-id": "\u0661\u0662", "cookie": None}

    def facts(header: str | None, cookie: str | None) -> RequestFacts:
        return RequestFacts(
            "GET", "https", "shop.example", "/",
            header={"x-session-id": header}.get, cookie={"sid": cookie}.get,
        )  # fmt: skip

    assert rule.read(facts(values["x-session-id"], None)) is None
    assert rule.read(facts("\u00b2", None)) is None
    assert rule.read(facts(None, '"42"')) == 42  # a JSON-quoted cookie
    assert rule.read(facts(" 42 ", "7")) == 42  # the header first


def test_a_destination_turned_off_by_consent_stays_off() -> None:
    context: dict[str, Any] = {}
    off = SessionIdRule.stitch(42, context, {"Actions Amplitude": False, "Hotjar": True})
    assert off == {"Actions Amplitude": False, "Hotjar": True}
    assert context == {"sessionId": 42}
    on = SessionIdRule.stitch(42, {}, {"Actions Amplitude": True})
    assert on == {"Actions Amplitude": {"session_id": 42}}
