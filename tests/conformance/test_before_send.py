"""``before_send`` through each adapter, checked on the wire: hooks scrub, enrich and
drop the messages of a request — the automatic page call included — and a broken hook
drops them (fail closed) without touching the response."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from segment_web.signals import message_dropped
from tests.conformance import apps, hooks
from tests.conformance.drivers import DjangoDriver, Driver
from tests.support.doc_snippets import scrub_pii_recipe
from tests.support.recording_server import RecordingServer


@pytest.fixture
def drops() -> Iterator[list[tuple[object, str, str]]]:
    """Every ``message_dropped`` signal during the test: (sender, message type, reason)."""
    seen: list[tuple[object, str, str]] = []

    def record(sender: object, **kwargs: Any) -> None:
        seen.append((sender, kwargs["message"]["type"], kwargs["reason"]))

    with message_dropped.connected_to(record):
        yield seen


def by_type(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {message["type"]: message for message in messages}
    assert len(found) == len(messages), "one message of each type expected"
    return found


@pytest.mark.parametrize(
    "before_send",
    [hooks.without_email, [hooks.with_app, hooks.without_email]],
    ids=["callable", "list"],
)
def test_a_hook_removes_the_email_from_the_wire(adapter: Driver, before_send: Any) -> None:
    assert_email_removed(adapter, before_send)


@pytest.mark.parametrize(
    "before_send",
    [
        "tests.conformance.hooks.without_email",
        ["tests.conformance.hooks.with_app", hooks.without_email],
    ],
    ids=["dotted-path", "list-of-paths"],
)
def test_every_adapter_takes_hooks_by_dotted_path(adapter: Driver, before_send: Any) -> None:
    assert_email_removed(adapter, before_send)


def assert_email_removed(adapter: Driver, before_send: Any) -> None:
    adapter.start(before_send=before_send)
    assert adapter.get(apps.PRIVACY + "?identify=1").status == 200
    sent = by_type(adapter.sent(3))
    assert sent["identify"]["traits"] == {"plan": "pro"}
    assert sent["identify"]["userId"] == apps.USER_ID
    assert apps.TRAITS["email"] not in json.dumps(adapter.server.messages)


def test_a_hook_adds_context_app_to_every_message_of_the_request(adapter: Driver) -> None:
    adapter.start(before_send=hooks.with_app)
    assert adapter.get(apps.PRIVACY, peer="203.0.113.77").status == 200
    for message in adapter.sent(2):
        context = message["context"]
        assert context["app"] == hooks.APP
        # The hook saw the message with the request's context already merged in.
        assert context["ip"] == "203.0.113.77"
        assert context["page"]["path"] == apps.PRIVACY


@pytest.mark.parametrize("dropped", ["track", "page"])
def test_a_hook_returning_none_drops_the_message_and_reports_its_reason(
    adapter: Driver,
    dropped: str,
    drops: list[tuple[object, str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter.start(before_send=lambda message: None if message["type"] == dropped else message)
    assert adapter.get(apps.PRIVACY).status == 200
    (kept,) = adapter.sent(1)
    assert kept["type"] != dropped
    assert drops == [(adapter.client, dropped, "before_send")]
    # A hook's own choice is no problem: nothing is logged as one.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_raising_hook_drops_the_message_logs_and_the_response_goes_on(
    adapter: Driver, drops: list[tuple[object, str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    adapter.start(before_send=hooks.broken)
    assert adapter.get(apps.PRIVACY + "?identify=1").status == 200
    assert adapter.client is not None
    adapter.client.flush(timeout=10)
    assert adapter.server.messages == []  # fail closed: nothing the hook should scrub leaves
    assert sorted(kind for _, kind, _ in drops) == ["identify", "page", "track"]
    assert {reason for _, _, reason in drops} == {"before_send raised"}
    raised = [r for r in caplog.records if r.exc_info and "scrubber broke" in str(r.exc_info[1])]
    assert len(raised) == 3


def test_a_hook_sees_the_requests_consent(adapter: Driver) -> None:
    adapter.start(gpc_categories=["Advertising"], before_send=hooks.nothing_without_consent)
    assert adapter.get(apps.PRIVACY, headers={"Sec-GPC": "1"}).status == 200
    assert adapter.get(apps.PRIVACY).status == 200
    sent = adapter.sent(2)  # only the visit without GPC
    assert all("consent" not in message["context"] for message in sent)


@pytest.mark.parametrize(
    ("value", "issue_id"),
    [
        ("tests.conformance.hooks.no_such_hook", "segment_web.W006"),
        ([hooks.with_app, "tests.conformance.no_module.hook"], "segment_web.W006"),
        (42, "segment_web.W005"),
    ],
    ids=["missing-hook", "missing-module-in-list", "not-callable"],
)
def test_a_broken_django_before_send_drops_every_message_and_is_reported(
    value: Any, issue_id: str, drops: list[tuple[object, str, str]], server: RecordingServer
) -> None:
    from segment_web.django import get_integration
    from segment_web.django.apps import app_config

    adapter = DjangoDriver(server)
    try:
        adapter.start(before_send=value)
        (issue,) = app_config().issues
        assert issue.id == issue_id and issue.message.startswith("BEFORE_SEND")
        assert issue.hint is not None and "every message is dropped" in issue.hint
        assert adapter.get(apps.PRIVACY + "?identify=1").status == 200  # the site runs
        get_integration().client.flush(timeout=10)
    finally:
        adapter.close()
    assert server.messages == []  # fail closed: no unscrubbed data leaves
    assert sorted(kind for _, kind, _ in drops) == ["identify", "page", "track"]
    assert {reason for _, _, reason in drops} == {"before_send raised"}


@pytest.fixture(scope="module")
def scrub_pii() -> Any:
    """The docs' ``scrub_pii`` recipe (docs/privacy.md), run as written."""
    return scrub_pii_recipe()


def test_the_docs_recipe_scrubs_personal_data_from_every_message(
    adapter: Driver, scrub_pii: Any
) -> None:
    adapter.start(before_send=scrub_pii)
    referrer = "https://mail.example/inbox?to=ada@example.com"
    query = "?identify=1&email=ada%40example.com&utm_source=news"
    assert adapter.get(apps.PRIVACY + query, headers={"Referer": referrer}).status == 200
    sent = by_type(adapter.sent(3))
    assert sent["identify"]["traits"] == {"plan": "pro"}
    for message in sent.values():
        page = message["context"]["page"]
        assert page["url"].endswith(apps.PRIVACY) and "search" not in page
        assert page["referrer"] == "https://mail.example/inbox"
        assert message["context"]["campaign"] == {"source": "news"}  # the rest stays
    assert sent["page"]["properties"] == sent["page"]["context"]["page"]
    wire = json.dumps(adapter.server.messages)
    assert "ada@example.com" not in wire and "ada%40example.com" not in wire
