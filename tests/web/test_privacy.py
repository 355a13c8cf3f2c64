"""The privacy rules without any framework: masking, the consent-manager cookie, the
consent callable's answer, GPC, their order, the settings, and the size bounds."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from segment_web import Analytics
from segment_web.testing import capture_events
from segment_web.web import limits
from segment_web.web.consent import category_preferences, read_tracking_preferences
from segment_web.web.context import RequestRules
from segment_web.web.privacy import PrivacyRules, global_privacy_control, mask_ip
from segment_web.web.proxies import TrustedProxies
from segment_web.web.settings import parse_settings
from segment_web.web.tracked_request import TrackedRequest
from tests.support.doc_snippets import scrub_pii_recipe
from tests.web import consent as cookies
from tests.web import hostile
from tests.web.factories import request_facts


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:db8:85a3:ffff::1", "2001:db8:85a3::"),
        ("::1", "::"),
        ("::ffff:203.0.113.77", "::ffff:203.0.113.0"),
        # 6to4 carries 203.0.113.77 in bits 16-48: masked as that IPv4 address is
        ("2002:cb00:714d::1", "2002:cb00:7100::"),
        ("2002:cb00:714d:1234:5678:9abc:def0:1", "2002:cb00:7100::"),
        # Teredo and NAT64 carry the client's IPv4 address in the bits zeroed anyway
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136::"),
        ("64:ff9b::203.0.113.77", "64:ff9b::"),
    ],
)
def test_mask_ip_keeps_only_the_network(address: str, masked: str) -> None:
    assert mask_ip(address) == masked


def rules(**options: Any) -> PrivacyRules:
    return PrivacyRules(
        capture_ip=options.pop("capture_ip", True),
        proxies=TrustedProxies(options.pop("forwarded_allow_ips", "127.0.0.1,::1")),
        **options,
    )


def test_ip_is_masked_after_the_trusted_proxies_are_walked() -> None:
    behind_proxy = request_facts(
        peer="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.9, 127.0.0.1"}
    )
    assert rules(anonymize_ip=True).ip(behind_proxy) == "198.51.100.0"
    assert rules().ip(behind_proxy) == "198.51.100.9"
    assert rules(anonymize_ip=True, capture_ip=False).ip(behind_proxy) is None
    assert rules(anonymize_ip=True).ip(request_facts(peer=None)) is None
    assert rules(anonymize_ip=True).ip(request_facts(peer="not an address")) is None


# The consent-manager cookie ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        cookies.VALID,
        json.dumps({"version": 1, "destinations": cookies.DESTINATIONS, "custom": cookies.CUSTOM}),
        '"' + cookies.VALID + '"',
    ],
    ids=["js-cookie", "plain-json", "quoted"],
)
def test_the_consent_manager_cookie_is_read(raw: str) -> None:
    preferences = read_tracking_preferences(raw)
    assert preferences is not None
    assert preferences.categories == cookies.CUSTOM
    assert preferences.destinations == cookies.DESTINATIONS


def test_a_cookie_with_destinations_only_gives_no_categories() -> None:
    preferences = read_tracking_preferences(
        cookies.as_js_cookie({"version": 1, "destinations": {"Hotjar": False}})
    )
    assert preferences is not None
    assert preferences.categories == {}
    assert preferences.destinations == {"Hotjar": False}


TAMPERED = {
    **cookies.MALFORMED,
    "empty-name": cookies.as_js_cookie({"custom": {"": True}}),
    "long-name": cookies.as_js_cookie({"custom": {"x" * (limits.CONSENT_NAME + 1): True}}),
    "lone-surrogate": cookies.as_js_cookie({"custom": {"\ud800": True}}),
    "too-many-small-entries": json.dumps({"destinations": {str(n): True for n in range(250)}}),
    "bool-version": cookies.as_js_cookie({"version": True, "custom": cookies.CUSTOM}),
    "null-flag": cookies.as_js_cookie({"custom": {"advertising": None}}),
    "number-flag": cookies.as_js_cookie({"custom": {"advertising": 0}}),
    "percent-garbage": "%E0%A4%A",
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_an_unusable_cookie_is_ignored_at_debug_level(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw = TAMPERED[name]
    caplog.set_level(logging.DEBUG, logger="segment_web")
    assert read_tracking_preferences(raw) is None
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("segment_web: consent cookie ignored: ")


def test_the_tampered_cookies_stay_within_the_size_limit_unless_meant_to() -> None:
    # Each must fail on its own rule, not just on size.
    for name, raw in TAMPERED.items():
        assert (len(raw) > limits.CONSENT_COOKIE) == (name == "oversized"), name


@pytest.mark.parametrize("raw", [None, ""])
def test_no_cookie_is_no_preferences_and_no_log(
    raw: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="segment_web")
    assert read_tracking_preferences(raw) is None
    assert caplog.records == []


# The consent callable's answer -------------------------------------------------------


def test_a_mapping_of_bools_is_the_answer() -> None:
    answer = {"Advertising": False, "Analytics": True}
    assert category_preferences(answer, source="test") == answer
    assert category_preferences(None, source="test") == {}


@pytest.mark.parametrize(
    "answer",
    [["Advertising"], {"Advertising": "no"}, {1: True}, {"x" * 200: True}, True],
    ids=["list", "str-flag", "int-name", "long-name", "bool"],
)
def test_a_wrong_answer_is_unknown_and_warned_about(
    answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert category_preferences(answer, source="the consent callable") == {}
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "the consent callable" in record.getMessage()


# Order: cookie, then the callable, then GPC -------------------------------------------


def test_consent_is_merged_cookie_then_callable_then_gpc() -> None:
    seen: list[Any] = []

    def consent(request: Any) -> dict[str, bool]:
        seen.append(request)
        return {"advertising": True, "Analytics": True}

    privacy = rules(consent=consent, consent_cookie=cookies.NAME, gpc_categories=("Analytics",))
    native = object()
    facts = request_facts(
        headers={"Sec-GPC": "1"}, cookies={cookies.NAME: cookies.VALID}, request=native
    )
    result = privacy.consent(facts)
    assert seen == [native]
    assert result.categories == {**cookies.CUSTOM, "advertising": True, "Analytics": False}
    assert result.destinations == cookies.DESTINATIONS
    assert result.context() == {"categoryPreferences": result.categories}


@pytest.mark.parametrize(
    ("value", "asked"), [("1", True), (" 1", True), ("0", False), ("yes", False), (None, False)]
)
def test_only_sec_gpc_1_asks_not_to_sell_or_share(value: str | None, asked: bool) -> None:
    headers = {} if value is None else {"Sec-GPC": value}
    assert global_privacy_control(request_facts(headers=headers)) is asked


def test_without_privacy_settings_nothing_is_read() -> None:
    def header(name: str) -> str | None:
        raise AssertionError(f"read header {name}")

    facts = request_facts()
    facts.header = facts.cookie = header  # any read fails the test
    consent = rules().consent(facts)
    assert consent.categories == {} and consent.destinations == {}
    assert consent.context() == {}


def test_a_raising_callable_is_logged_and_consent_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def consent(request: Any) -> dict[str, bool]:
        raise KeyError("session")

    assert rules(consent=consent).consent(request_facts()).categories == {}
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


# Settings ----------------------------------------------------------------------------


def test_privacy_settings_defaults() -> None:
    settings, _ = parse_settings({})
    assert settings.anonymize_ip is False
    assert settings.consent is None
    assert settings.consent_cookie is None
    assert settings.gpc_categories == ()


def test_privacy_settings_are_read() -> None:
    settings, problems = parse_settings(
        {
            "write_key": "k",
            "anonymize_ip": True,
            "consent": "tests.web.consent.categories_from_header",
            "consent_cookie": "tracking-preferences",
            "gpc_categories": ["Advertising", "Marketing"],
        }
    )
    assert problems == []
    assert settings.consent is cookies.categories_from_header
    assert settings.gpc_categories == ("Advertising", "Marketing")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("anonymize_ip", "yes", "must be True or False"),
        ("consent", "tests.web.no_such_module.consent", "could not import"),
        ("consent", "tests.web.consent.NAME", "not callable"),
        ("consent", "consent", "not a dotted path"),
        ("consent", 42, "must be a callable"),
        ("consent_cookie", "tracking preferences", "cookie name"),
        ("gpc_categories", "Advertising", "list of consent category names"),
        ("gpc_categories", ["Advertising", ""], "list of consent category names"),
    ],
)
def test_bad_privacy_settings_name_the_option(option: str, value: Any, says: str) -> None:
    _, problems = parse_settings({"write_key": "k", option: value}, name_of=str.upper)
    (problem,) = problems
    assert problem.option == option and problem.fatal
    assert problem.message.startswith(option.upper()) and says in problem.message


# Size bounds -------------------------------------------------------------------------


def test_consent_at_its_limits_on_hostile_request_data_still_makes_valid_messages() -> None:
    largest_cookie = _largest_cookie()
    settings, _ = parse_settings(
        {
            "write_key": "k",
            "consent_cookie": cookies.NAME,
            "consent": lambda request: _largest_categories(),
            "gpc_categories": ["Advertising"],
        }
    )
    request = request_facts(
        query_string=hostile.LONG_CAMPAIGN_QUERY,
        headers={
            "User-Agent": hostile.LONG_USER_AGENT,
            "Referer": hostile.LONG_REFERRER,
            "Sec-GPC": "1",
        },
        cookies={cookies.NAME: largest_cookie},
    )
    client = Analytics("k", enable=False)
    tracked = TrackedRequest(RequestRules(settings), client, request)
    with capture_events() as events:
        assert tracked.finish(200, "text/html", "cart")
    (page,) = events
    hostile.assert_valid_with_a_new_id(page)
    # The request's share, its page properties included: more than 15 KB stay free.
    assert len(json.dumps(page, ensure_ascii=False).encode("utf-8")) < 17 * 1024
    assert len(page["integrations"]) > 100  # the cookie was read, not ignored
    assert page["context"]["consent"]["categoryPreferences"]["Advertising"] is False
    client.shutdown()


def _largest_categories() -> dict[str, bool]:
    """As many categories as the bound allows, each with the longest escaped name."""
    name_chars = limits.CONSENT_NAME // 6  # "\u0001" takes 6 JSON bytes
    count = limits.CONSENT_BYTES // (limits.CONSENT_NAME + 8)
    return {f"{n:02d}".ljust(name_chars, "\x01"): True for n in range(count)}


def _largest_cookie() -> str:
    """The consent-manager cookie with the most destinations still accepted."""
    accepted = ""
    for count in range(1, limits.CONSENT_COOKIE):  # bounded: each entry takes > 1 character
        raw = cookies.as_js_cookie({"destinations": {f"Tool {n}": True for n in range(count)}})
        if read_tracking_preferences(raw) is None:
            return accepted
        accepted = raw
    raise AssertionError("no cookie was too large")


@pytest.fixture(scope="module")
def scrub_pii() -> Any:
    return scrub_pii_recipe()


def test_the_docs_recipe_masks_addresses_at_any_depth(scrub_pii: Any) -> None:
    message = {
        "type": "track",
        "properties": {
            "note": "from ada@example.com via https://x.example/?to=b.c+d@mail.example.org",
            "items": [{"email": "x@y.z", "sku": 1}],
        },
        "context": {"traits": {"phone": "+41 79", "plan": "pro"}},
    }
    assert scrub_pii(message) == {
        "type": "track",
        "properties": {
            "note": "from [email] via https://x.example/?to=[email]",
            "items": [{"sku": 1}],
        },
        "context": {"traits": {"plan": "pro"}},
    }
