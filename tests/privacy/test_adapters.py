"""Privacy settings through each adapter, checked on the wire (the recording server):
IP masking with and without trusted proxies, consent from the app's callable, the
consent-manager cookie and Global Privacy Control, and explicit values winning."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.privacy import apps, cookies
from tests.privacy.drivers import Adapter

IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3:8d3:1319:8a2e:370:7348"
MASKED = {IPV4: "203.0.113.0", IPV6: "2001:db8:85a3::"}
GPC = {"Sec-GPC": "1"}


def visit(adapter: Adapter, query: str = "", **kwargs: Any) -> tuple[dict[str, Any], ...]:
    """One visit of the privacy page: its (track, automatic page) messages."""
    assert adapter.get(query, **kwargs) == 200
    messages = adapter.sent(2)
    (track,) = [m for m in messages if m["type"] == "track"]
    (page,) = [m for m in messages if m["type"] == "page"]
    assert track["event"] == apps.EVENT
    return track, page


def consents(*messages: dict[str, Any]) -> list[Any]:
    return [m["context"].get("consent") for m in messages]


# IP masking --------------------------------------------------------------------------


@pytest.mark.parametrize("address", [IPV4, IPV6])
def test_anonymize_ip_masks_the_peer_address(adapter: Adapter, address: str) -> None:
    adapter.start(anonymize_ip=True)
    for message in visit(adapter, peer=address):
        assert message["context"]["ip"] == MASKED[address]


@pytest.mark.parametrize("address", [IPV4, IPV6])
def test_without_anonymize_ip_the_whole_address_is_sent(adapter: Adapter, address: str) -> None:
    adapter.start()
    for message in visit(adapter, peer=address):
        assert message["context"]["ip"] == address


@pytest.mark.parametrize(
    ("headers", "sent_ip"),
    [
        ({"X-Forwarded-For": f"{IPV4}, 127.0.0.1"}, MASKED[IPV4]),
        ({"X-Forwarded-For": IPV6}, MASKED[IPV6]),
        ({"Forwarded": f'for="[{IPV6}]:4711";proto=https'}, MASKED[IPV6]),
        ({"X-Real-IP": IPV4}, MASKED[IPV4]),
    ],
    ids=["x-forwarded-for-ipv4", "x-forwarded-for-ipv6", "forwarded-ipv6", "x-real-ip-ipv4"],
)
def test_anonymize_ip_masks_the_client_behind_a_trusted_proxy(
    adapter: Adapter, headers: dict[str, str], sent_ip: str
) -> None:
    adapter.start(anonymize_ip=True)  # 127.0.0.1 is a trusted proxy by default
    for message in visit(adapter, peer="127.0.0.1", headers=headers):
        assert message["context"]["ip"] == sent_ip


def test_a_trusted_proxy_on_a_dual_stack_socket_is_still_trusted(adapter: Adapter) -> None:
    adapter.start(anonymize_ip=True)  # 127.0.0.1 is a trusted proxy by default
    for message in visit(adapter, peer="::ffff:127.0.0.1", headers={"X-Forwarded-For": IPV4}):
        assert message["context"]["ip"] == MASKED[IPV4]


def test_anonymize_ip_masks_the_untrusted_peer_not_its_forwarding_header(
    adapter: Adapter,
) -> None:
    adapter.start(anonymize_ip=True, forwarded_allow_ips="10.0.0.0/8")
    for message in visit(adapter, peer=IPV4, headers={"X-Forwarded-For": "198.51.100.1"}):
        assert message["context"]["ip"] == MASKED[IPV4]


def test_anonymize_ip_with_a_trusted_proxy_network(adapter: Adapter) -> None:
    adapter.start(anonymize_ip=True, forwarded_allow_ips="10.0.0.0/8")
    for message in visit(adapter, peer="10.1.2.3", headers={"X-Forwarded-For": IPV6}):
        assert message["context"]["ip"] == MASKED[IPV6]


def test_capture_ip_off_still_removes_the_address(adapter: Adapter) -> None:
    adapter.start(anonymize_ip=True, capture_ip=False)
    for message in visit(adapter, peer=IPV4):
        assert "ip" not in message["context"]


# Consent -----------------------------------------------------------------------------


def test_the_consent_callable_gets_the_framework_request(adapter: Adapter) -> None:
    adapter.start(consent=adapter.consent)
    sent = visit(adapter, headers={apps.CONSENT_HEADER: "Advertising=0,Analytics=1"})
    expected = {"categoryPreferences": {"Advertising": False, "Analytics": True}}
    assert consents(*sent) == [expected, expected]
    assert all("integrations" not in message for message in sent)


def test_the_consent_callable_may_be_a_dotted_path(adapter: Adapter) -> None:
    adapter.start(consent=adapter.consent_path)
    sent = visit(adapter, headers={apps.CONSENT_HEADER: "Advertising=1"})
    assert consents(*sent) == [{"categoryPreferences": {"Advertising": True}}] * 2


def test_consent_unknown_sends_no_consent(adapter: Adapter) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=["Advertising"])
    assert consents(*visit(adapter)) == [None, None]  # no header: the callable says None


@pytest.mark.parametrize("gpc", ["1", " 1 "])
def test_gpc_marks_its_categories_false_over_the_callable(adapter: Adapter, gpc: str) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=("Advertising", "Marketing"))
    headers = {apps.CONSENT_HEADER: "Advertising=1,Analytics=1", "Sec-GPC": gpc}
    expected = {"Advertising": False, "Analytics": True, "Marketing": False}
    for consent in consents(*visit(adapter, headers=headers)):
        assert consent == {"categoryPreferences": expected}


@pytest.mark.parametrize("headers", [{}, {"Sec-GPC": "0"}], ids=["no-header", "zero"])
def test_without_gpc_the_callable_answer_stands(adapter: Adapter, headers: dict[str, str]) -> None:
    adapter.start(consent=adapter.consent, gpc_categories=["Advertising"])
    headers = {apps.CONSENT_HEADER: "Advertising=1", **headers}
    assert (
        consents(*visit(adapter, headers=headers))
        == [{"categoryPreferences": {"Advertising": True}}] * 2
    )


def test_gpc_alone_marks_its_categories_false(adapter: Adapter) -> None:
    adapter.start(gpc_categories=["Advertising"])
    assert (
        consents(*visit(adapter, headers=GPC))
        == [{"categoryPreferences": {"Advertising": False}}] * 2
    )


def test_gpc_is_not_read_unless_categories_are_given(adapter: Adapter) -> None:
    adapter.start()
    assert consents(*visit(adapter, headers=GPC)) == [None, None]


def test_the_consent_manager_cookie_gives_categories_and_destinations(
    adapter: Adapter,
) -> None:
    adapter.start(consent_cookie=cookies.NAME)
    for message in visit(adapter, headers=cookies.header(cookies.VALID)):
        assert message["context"]["consent"] == {"categoryPreferences": cookies.CUSTOM}
        assert message["integrations"] == cookies.DESTINATIONS


def test_the_cookie_is_read_only_when_asked_for(adapter: Adapter) -> None:
    adapter.start()
    sent = visit(adapter, headers=cookies.header(cookies.VALID))
    assert consents(*sent) == [None, None]
    assert all("integrations" not in message for message in sent)


def test_callable_over_cookie_and_gpc_over_both(adapter: Adapter) -> None:
    adapter.start(
        consent=adapter.consent, consent_cookie=cookies.NAME, gpc_categories=["functional"]
    )
    headers = {
        **cookies.header(cookies.VALID),
        apps.CONSENT_HEADER: "advertising=1,Analytics=1",
        **GPC,
    }
    expected = {**cookies.CUSTOM, "advertising": True, "Analytics": True, "functional": False}
    for message in visit(adapter, headers=headers):
        assert message["context"]["consent"] == {"categoryPreferences": expected}
        assert message["integrations"] == cookies.DESTINATIONS


@pytest.mark.parametrize("name", sorted(cookies.MALFORMED))
def test_a_bad_cookie_is_ignored_and_logged_at_debug_level(
    adapter: Adapter, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    adapter.start(consent_cookie=cookies.NAME, gpc_categories=["advertising"])
    caplog.set_level(logging.DEBUG, logger="segment_web")
    headers = {**cookies.header(cookies.MALFORMED[name]), **GPC}
    for message in visit(adapter, headers=headers):
        # GPC still applies; nothing of the cookie does.
        assert message["context"]["consent"] == {"categoryPreferences": {"advertising": False}}
        assert "integrations" not in message
    ignored = [r for r in caplog.records if "consent cookie ignored" in r.getMessage()]
    assert ignored and all(record.levelno == logging.DEBUG for record in ignored)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_cookie_under_another_name_is_read_when_configured(adapter: Adapter) -> None:
    adapter.start(consent_cookie="my-consent")
    (track, _) = visit(adapter, headers=cookies.header(cookies.VALID, name="my-consent"))
    assert track["integrations"] == cookies.DESTINATIONS


def test_a_raising_consent_callable_leaves_consent_unknown_and_the_response_intact(
    adapter: Adapter, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Any) -> dict[str, bool]:
        raise RuntimeError("consent store down")

    adapter.start(consent=broken, gpc_categories=["Advertising"])
    assert (
        consents(*visit(adapter, headers=GPC))
        == [{"categoryPreferences": {"Advertising": False}}] * 2
    )
    (record,) = [r for r in caplog.records if "consent callable raised" in r.getMessage()]
    assert record.levelno == logging.ERROR and "consent store down" in record.exc_text


def test_an_explicit_context_and_integrations_win_key_by_key(adapter: Adapter) -> None:
    adapter.start(consent_cookie=cookies.NAME)
    track, page = visit(adapter, "?explicit=1", headers=cookies.header(cookies.VALID))
    assert cookies.CUSTOM["advertising"] is False
    assert track["context"]["consent"] == {
        "categoryPreferences": {**cookies.CUSTOM, "advertising": True}
    }
    assert track["integrations"] == {**cookies.DESTINATIONS, "Hotjar": True}
    # The automatic page call keeps the request's own values.
    assert page["context"]["consent"] == {"categoryPreferences": cookies.CUSTOM}
    assert page["integrations"] == cookies.DESTINATIONS
