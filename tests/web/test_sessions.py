"""Session stitching's rule without any framework: the settings checked, what makes a
session id, and consent winning over it."""

from __future__ import annotations

from typing import Any

from segment_web.web.facts import RequestFacts
from segment_web.web.sessions import SessionIdRule
from segment_web.web.settings import parse_settings


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
