"""``before_send``: hooks that change or drop a message before it is encoded, checked on
the wire at the local recording server."""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

import pytest

from segment_web import RequestAnalytics, ValidationError, signals
from segment_web.errors import MessageDropped
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer


def drop_email(message: dict[str, Any]) -> dict[str, Any]:
    message.get("traits", {}).pop("email", None)
    return message


def add_app(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "context": {**message["context"], "app": {"name": "shop"}}}


def test_a_hook_scrubs_a_trait_without_touching_the_callers_dict(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(before_send=drop_email)
    traits = {"email": "a@b.c", "plan": "pro"}
    client.identify(user_id="u", traits=traits)
    assert client.flush(timeout=10) == 1
    (message,) = server.messages
    assert message["traits"] == {"plan": "pro"}
    assert b"a@b.c" not in server.requests[0].data
    assert traits == {"email": "a@b.c", "plan": "pro"}


def test_hooks_run_in_order_on_the_wire_form_and_a_new_dict_is_sent(
    make_client: MakeClient, server: RecordingServer
) -> None:
    seen: list[dict[str, Any]] = []

    def record(message: dict[str, Any]) -> dict[str, Any]:
        seen.append(message)
        return message

    client = make_client(before_send=[add_app, record])
    handle = RequestAnalytics(client, anonymous_id="anon-1", context={"ip": "203.0.113.9"})
    message_id = handle.track(event="E", properties={"n": 1})
    assert client.flush(timeout=10) == 1
    (message,) = server.messages
    assert message["context"]["app"] == {"name": "shop"}
    assert message["context"]["ip"] == "203.0.113.9"
    assert message["messageId"] == message_id
    # the second hook got the first one's result, in wire form: camelCase, the request's
    # context merged, the library added
    (hooked,) = seen
    assert hooked["anonymousId"] == "anon-1"
    assert hooked["context"]["app"] == {"name": "shop"}
    assert hooked["context"]["library"]["name"] == "segment-web"
    assert hooked == message


def test_a_hook_runs_on_the_callers_thread_with_its_context_variables(
    make_client: MakeClient, server: RecordingServer
) -> None:
    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="none")
    calls: list[tuple[threading.Thread, str]] = []

    def tag(message: dict[str, Any]) -> dict[str, Any]:
        calls.append((threading.current_thread(), tenant.get()))
        message.setdefault("properties", {})["tenant"] = tenant.get()
        return message

    client = make_client(before_send=tag)
    tenant.set("acme")
    client.track(user_id="u", event="E")
    assert calls == [(threading.current_thread(), "acme")]
    client.flush(timeout=10)
    assert server.messages[0]["properties"] == {"tenant": "acme"}


def test_a_hook_returning_none_drops_the_message_reported_not_logged(
    make_client: MakeClient,
    server: RecordingServer,
    record_signal: RecordSignal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dropped = record_signal(signals.message_dropped)
    queued = record_signal(signals.message_queued)
    client = make_client(before_send=lambda message: None)
    callback = Callbacks()
    caplog.set_level(logging.DEBUG, logger="segment_web")
    message_id = client.track(user_id="u", event="Secret", callback=callback)
    (error,) = callback.wait(1)
    assert isinstance(error, MessageDropped) and error.reason == "before_send"
    ((sender, kwargs),) = dropped.sends
    assert sender is client
    assert kwargs["reason"] == "before_send"
    assert kwargs["message_id"] == message_id
    assert kwargs["message"]["event"] == "Secret"
    assert queued.sends == []
    assert client.queued == 0
    assert client.flush(timeout=5) == 0
    client.shutdown(timeout=5)
    assert server.arrived == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_hook_that_raises_drops_the_message_and_logs_it_the_call_goes_on(
    make_client: MakeClient,
    server: RecordingServer,
    record_signal: RecordSignal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(message: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("scrubber bug")

    dropped = record_signal(signals.message_dropped)
    client = make_client(before_send=[broken, add_app])
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)  # does not raise
    (error,) = callback.wait(1)
    assert isinstance(error, MessageDropped) and error.reason == "before_send raised"
    assert [kwargs["reason"] for _, kwargs in dropped.sends] == ["before_send raised"]
    client.track(user_id="u", event="E2")
    client.flush(timeout=5)
    assert server.arrived == 0
    logged = [r for r in caplog.records if r.exc_info and r.name == "segment_web"]
    assert [r.exc_info[0] for r in logged if r.exc_info] == [KeyError, KeyError]
    assert all("before_send" in r.getMessage() for r in logged)


@pytest.mark.parametrize(
    ("hook", "field"),
    [
        (lambda m: {k: v for k, v in m.items() if k not in ("userId", "anonymousId")}, "user_id"),
        (lambda m: {**m, "properties": {"blob": "x" * 40_000}}, "properties"),
        (lambda m: {**m, "type": "purchase"}, "type"),
        (lambda m: {**m, "type": ["track"]}, "type"),
        (lambda m: {**m, "traits": {}}, "traits"),
        (lambda m: "not a message", "before_send"),
    ],
)
def test_the_returned_message_is_validated_like_any_other(
    make_client: MakeClient, server: RecordingServer, hook: Any, field: str
) -> None:
    client = make_client(before_send=hook)
    with pytest.raises(ValidationError) as caught:
        client.track(user_id="u", event="E")
    assert caught.value.field == field
    assert client.queued == 0


@pytest.mark.parametrize("bad", ["module.hook", 42, [add_app, "x"], {"hook": add_app}])
def test_before_send_must_be_callables(make_client: MakeClient, bad: Any) -> None:
    with pytest.raises(ValueError, match="before_send"):
        make_client(before_send=bad)


def message_bytes(data: bytes) -> bytes:
    return data[data.index(b"[") + 1 : data.index(b'],"sentAt"')]


def test_a_hook_that_changes_nothing_sends_the_same_bytes_as_no_hook(
    make_client: MakeClient, server: RecordingServer
) -> None:
    call = {
        "user_id": "u",
        "event": "E",
        "message_id": "m-1",
        "timestamp": "2024-05-17T09:30:12.345Z",
        "properties": {"n": 1.5, "tags": ["a"], "nested": {"x": None}, "nan": float("nan")},
    }
    plain_client = make_client(gzip=False)
    plain_client.track(**call)
    assert plain_client.flush(timeout=10) == 1
    seen: list[dict[str, Any]] = []
    hooked = make_client(gzip=False, before_send=lambda message: seen.append(message) or message)
    hooked.track(**call)
    assert hooked.flush(timeout=10) == 1
    plain, through_hook = (message_bytes(r.data) for r in server.accepted)
    assert through_hook == plain
    assert seen[0]["properties"]["nan"] is None  # the hook saw the wire form


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m["properties"]["nested"].update(x=2), {"flag": True, "nested": {"x": 2}}),
        (lambda m: m["properties"].update(flag=1), {"flag": 1, "nested": {"x": 1}}),
    ],
    ids=["nested value changed in place", "true replaced by the equal 1"],
)
def test_a_hook_that_changes_a_value_in_place_is_sent_changed(
    make_client: MakeClient, server: RecordingServer, change: Any, expected: dict[str, Any]
) -> None:
    def hook(message: dict[str, Any]) -> dict[str, Any]:
        change(message)
        return message

    client = make_client(before_send=hook)
    properties = {"flag": True, "nested": {"x": 1}}
    client.track(user_id="u", event="E", properties=properties)
    assert client.flush(timeout=10) == 1
    (message,) = server.messages
    assert message["properties"] == expected
    assert type(message["properties"]["flag"]) is type(expected["flag"])
    assert properties == {"flag": True, "nested": {"x": 1}}
