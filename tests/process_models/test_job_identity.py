"""The identity a job carries, without a job system: what is written from a request's
handle, and the handle rebuilt from it (explicit arguments win)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import segment_web
from segment_web import api as module_api
from segment_web.core.handle import RequestAnalytics, activate
from segment_web.jobs.identity import handle_from_identity, identity_of_current_request
from segment_web.testing import CapturedEvents

REQUEST_CONTEXT = {
    "ip": "203.0.113.9",
    "userAgent": "ua",
    "locale": "de-DE",
    "page": {"path": "/checkout"},
    "campaign": {"name": "spring"},
    "consent": {"categoryPreferences": {"ads": False}},
}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[segment_web.Analytics]:
    monkeypatch.setattr(module_api, "_default", None)  # this test's default, then the old one
    analytics = module_api.configure(
        write_key="jobs", host="http://127.0.0.1:9", flush_on_signals=False
    )
    yield analytics
    analytics.shutdown(timeout=0)


def request_handle(client: segment_web.Analytics, user_id: object = 42) -> RequestAnalytics:
    return RequestAnalytics(
        client, user_id=lambda: user_id, anonymous_id="anon-1", context=REQUEST_CONTEXT
    )


def test_outside_a_request_a_job_carries_nothing() -> None:
    assert identity_of_current_request() is None


def test_the_identity_is_plain_json_with_the_chosen_context(
    client: segment_web.Analytics,
) -> None:
    with activate(request_handle(client)):
        identity = identity_of_current_request()
        assert json.loads(json.dumps(identity)) == identity
        assert identity == {
            "userId": 42,
            "anonymousId": "anon-1",
            "context": {
                key: REQUEST_CONTEXT[key]
                for key in ("ip", "userAgent", "locale", "page", "campaign")
            },
        }
        assert identity_of_current_request(context_keys=("locale",)) == {
            "userId": 42,
            "anonymousId": "anon-1",
            "context": {"locale": "de-DE"},
        }


def test_a_user_id_that_is_no_string_or_number_is_sent_as_text(
    client: segment_web.Analytics,
) -> None:
    handle = request_handle(client)
    handle.user_id = ("tenant", 7)  # set by the app itself (a resolver's is checked: below)
    with activate(handle):
        assert identity_of_current_request()["userId"] == "('tenant', 7)"  # type: ignore[index]


def test_a_resolver_s_answer_that_is_no_id_is_not_carried(
    client: segment_web.Analytics,
) -> None:
    with activate(request_handle(client, user_id=("tenant", 7))):
        assert "userId" not in identity_of_current_request()  # type: ignore[operator]


def test_the_rebuilt_handle_fills_in_and_explicit_arguments_win(
    client: segment_web.Analytics, segment_events: CapturedEvents
) -> None:
    with activate(request_handle(client)):
        identity = identity_of_current_request()
    handle = handle_from_identity(identity)
    assert handle is not None
    with activate(handle):
        segment_web.track(event="In Job")
        segment_web.track(event="Other User", user_id="someone-else", context={"locale": "fr"})
    first, second = segment_events
    assert (first["userId"], first["anonymousId"], first["context"]["ip"]) == (
        "42",
        "anon-1",
        "203.0.113.9",
    )
    assert "consent" not in first["context"]
    assert second["userId"] == "someone-else" and second["context"]["locale"] == "fr"


@pytest.mark.parametrize("header", [None, "garbage", 7])
def test_no_usable_header_means_no_handle(client: segment_web.Analytics, header: object) -> None:
    assert handle_from_identity(header) is None
