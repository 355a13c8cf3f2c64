"""segment_web.testing: capture what would be sent, with no network."""

from __future__ import annotations

import datetime as dt
from typing import Any

from segment_web import MessageDropped, signals
from segment_web.testing import CapturedEvents, capture_events
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer


def test_capture_events_records_the_wire_form_without_network(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    callback = Callbacks()
    properties: dict[str, Any] = {"at": dt.date(2024, 1, 2), "n": 1}
    with capture_events() as events:
        message_id = client.track(
            user_id=5, event="Signed Up", properties=properties, callback=callback
        )
        client.page(user_id="u", name="Home")
        properties["n"] = 2
    assert callback.errors == [None]
    assert [m["type"] for m in events] == ["track", "page"]
    assert events[0]["messageId"] == message_id
    assert events[0]["userId"] == "5"
    assert events[0]["properties"] == {"at": "2024-01-02", "n": 1}
    assert events[0]["context"]["library"]["name"] == "segment-web"
    assert events.events("Signed Up") == [events[0]]
    assert events.of_type("page") == [events[1]]
    assert events.clients == [client, client]
    assert client.flush(timeout=5) == 0
    assert server.arrived == 0


def test_after_the_capture_messages_are_sent_again(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    with capture_events() as events:
        client.track(user_id="u", event="Captured")
    client.track(user_id="u", event="Sent")
    assert client.flush(timeout=10) == 1
    assert [m["event"] for m in events] == ["Captured"]
    assert [m["event"] for m in server.messages] == ["Sent"]


def test_segment_events_fixture(
    segment_events: CapturedEvents, make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    client.identify(user_id="u", traits={"plan": "pro"})
    client.track(user_id="u", event="Upgraded")
    assert [m["type"] for m in segment_events] == ["identify", "track"]
    assert segment_events.events("Upgraded")[0]["userId"] == "u"
    assert server.arrived == 0


def test_a_raising_callback_under_capture_does_not_reach_the_caller(
    segment_events: CapturedEvents, make_client: MakeClient
) -> None:
    def broken(error: Exception | None, batch: object) -> None:
        raise ValueError("callback bug")

    make_client().track(user_id="u", event="E", callback=broken)
    assert len(segment_events) == 1


def test_capture_sends_message_queued_like_production(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    queued = record_signal(signals.message_queued)
    client = make_client()
    with capture_events() as events:
        message_id = client.track(user_id="u", event="Captured")
    ((sender, kwargs),) = queued.sends  # sent before the call returned
    assert sender is client
    assert kwargs["message"]["messageId"] == message_id == events[0]["messageId"]


def test_capture_keeps_the_queue_bound(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    dropped = record_signal(signals.message_dropped)
    client = make_client(max_queue_size=1)  # flushed, flush_at=100: the first stays queued
    client.track(user_id="u", event="Queued Before")
    callback = Callbacks()
    with capture_events() as events:
        message_id = client.track(user_id="u", event="Over The Bound", callback=callback)
    assert list(events) == []
    ((_, kwargs),) = dropped.sends
    assert kwargs["message_id"] == message_id
    assert "max_queue_size=1" in kwargs["reason"]
    assert [type(error) for error in callback.errors] == [MessageDropped]


def test_a_captured_message_and_its_callback_are_done_when_the_call_returns(
    make_client: MakeClient,
) -> None:
    client = make_client()
    seen: list[int] = []
    with capture_events() as events:
        client.track(user_id="u", event="E", callback=lambda error, batch: seen.append(len(batch)))
        assert len(events) == 1 and seen == [1]
