"""Consent through each adapter, checked on the wire: the app's consent callable, the
consent-manager cookie and Global Privacy Control, their order, and explicit values
winning."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conformance.drivers import Driver
from tests.web import consent as cookies

GPC = {"Sec-GPC": "1"}


def consents(*messages: dict[str, Any]) -> list[Any]:
    return [m["context"].get("consent") for m in messages]


def test_the_consent_callable_gets_the_framework_request(adapter: Driver) -> None:
    adapter.start(consent=adapter.consent)
    sent = adapter.visit_privacy(headers={cookies.HEADER: "Advertising=0,Analytics=1"})
    expected = {"categoryPreferences": {"Advertising": False, "Analytics": True}}
    assert consents(*sent) == [expected, expected]
    assert all("integrations" not in message for message in sent)


def test_the_consent_callable_may_be_a_dotted_path(adapter: Driver) -> None:
    adapter.start(consent=adapter.consent_path)
    sent = adapter.visit_privacy(headers={cookies.HEADER: "Advertising=1"})
    assert consents(*sent) == [{"categoryPreferences": {"Advertising": True}}] * 2


def test_consent_unknown_sends_no_consent(adapter: Driver) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=["Advertising"])
    assert consents(*adapter.visit_privacy()) == [None, None]  # no header: the callable says None


@pytest.mark.parametrize("gpc", ["1", " 1 "])
def test_gpc_marks_its_categories_false_over_the_callable(adapter: Driver, gpc: str) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=("Advertising", "Marketing"))
    headers = {cookies.HEADER: "Advertising=1,Analytics=1", "Sec-GPC": gpc}
    expected = {"Advertising": False, "Analytics": True, "Marketing": False}
    for consent in consents(*adapter.visit_privacy(headers=headers)):
        assert consent == {"categoryPreferences": expected}


@pytest.mark.parametrize("headers", [{}, {"Sec-GPC": "0"}], ids=["no-header", "zero"])
def test_without_gpc_the_callable_answer_stands(adapter: Driver, headers: dict[str, str]) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=["Advertising"])
    headers = {cookies.HEADER: "Advertising=1", **headers}
    assert (
        consents(*adapter.visit_privacy(headers=headers))
        == [{"categoryPreferences": {"Advertising": True}}] * 2
    )


def test_gpc_alone_marks_its_categories_false(adapter: Driver) -> None:
    adapter.start(gpc_categories=["Advertising"])
    assert (
        consents(*adapter.visit_privacy(headers=GPC))
        == [{"categoryPreferences": {"Advertising": False}}] * 2
    )


def test_gpc_is_not_read_unless_categories_are_given(adapter: Driver) -> None:
    adapter.start()
    assert consents(*adapter.visit_privacy(headers=GPC)) == [None, None]


def test_the_consent_manager_cookie_gives_categories_and_destinations(
    adapter: Driver,
) -> None:
    adapter.start(consent_cookie=cookies.NAME)
    for message in adapter.visit_privacy(headers=cookies.header(cookies.VALID)):
        assert message["context"]["consent"] == {"categoryPreferences": cookies.CUSTOM}
        assert message["integrations"] == cookies.DESTINATIONS


def test_the_cookie_is_read_only_when_asked_for(adapter: Driver) -> None:
    adapter.start()
    sent = adapter.visit_privacy(headers=cookies.header(cookies.VALID))
    assert consents(*sent) == [None, None]
    assert all("integrations" not in message for message in sent)


def test_callable_over_cookie_and_gpc_over_both(adapter: Driver) -> None:
    adapter.start(
        consent=adapter.consent, consent_cookie=cookies.NAME, gpc_categories=["functional"]
    )
    headers = {
        **cookies.header(cookies.VALID),
        cookies.HEADER: "advertising=1,Analytics=1",
        **GPC,
    }
    expected = {**cookies.CUSTOM, "advertising": True, "Analytics": True, "functional": False}
    for message in adapter.visit_privacy(headers=headers):
        assert message["context"]["consent"] == {"categoryPreferences": expected}
        assert message["integrations"] == cookies.DESTINATIONS


@pytest.mark.parametrize("name", sorted(cookies.MALFORMED))
def test_a_bad_cookie_is_ignored_and_logged_at_debug_level(
    adapter: Driver, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    adapter.start(consent_cookie=cookies.NAME, gpc_categories=["advertising"])
    caplog.set_level(logging.DEBUG, logger="segment_web")
    headers = {**cookies.header(cookies.MALFORMED[name]), **GPC}
    for message in adapter.visit_privacy(headers=headers):
        # GPC still applies; nothing of the cookie does.
        assert message["context"]["consent"] == {"categoryPreferences": {"advertising": False}}
        assert "integrations" not in message
    ignored = [r for r in caplog.records if "consent cookie ignored" in r.getMessage()]
    assert ignored and all(record.levelno == logging.DEBUG for record in ignored)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_cookie_under_another_name_is_read_when_configured(adapter: Driver) -> None:
    adapter.start(consent_cookie="my-consent")
    (track, _) = adapter.visit_privacy(headers=cookies.header(cookies.VALID, name="my-consent"))
    assert track["integrations"] == cookies.DESTINATIONS


def test_a_raising_consent_callable_leaves_consent_unknown_and_the_response_intact(
    adapter: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Any) -> dict[str, bool]:
        raise RuntimeError("consent store down")

    adapter.start(consent=broken, gpc_categories=["Advertising"])
    assert (
        consents(*adapter.visit_privacy(headers=GPC))
        == [{"categoryPreferences": {"Advertising": False}}] * 2
    )
    (record,) = [r for r in caplog.records if "consent callable raised" in r.getMessage()]
    assert record.levelno == logging.ERROR and "consent store down" in record.exc_text


def test_an_explicit_context_and_integrations_win_key_by_key(adapter: Driver) -> None:
    adapter.start(consent_cookie=cookies.NAME)
    track, page = adapter.visit_privacy("?explicit=1", headers=cookies.header(cookies.VALID))
    assert cookies.CUSTOM["advertising"] is False
    assert track["context"]["consent"] == {
        "categoryPreferences": {**cookies.CUSTOM, "advertising": True}
    }
    assert track["integrations"] == {**cookies.DESTINATIONS, "Hotjar": True}
    # The automatic page call keeps the request's own values.
    assert page["context"]["consent"] == {"categoryPreferences": cookies.CUSTOM}
    assert page["integrations"] == cookies.DESTINATIONS
