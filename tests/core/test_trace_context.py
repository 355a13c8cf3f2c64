"""``trace_context=True``: the current OpenTelemetry span's ids on each message."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer


@pytest.fixture
def tracer() -> object:
    return TracerProvider().get_tracer("test")


def test_messages_carry_the_current_span(
    make_client: MakeClient, server: RecordingServer, tracer: object
) -> None:
    client = make_client(trace_context=True)
    with tracer.start_as_current_span("outer") as outer:  # type: ignore[attr-defined]
        client.track(user_id="u", event="In Outer")
        with tracer.start_as_current_span("inner") as inner:  # type: ignore[attr-defined]
            client.track(user_id="u", event="In Inner", context={"app": {"name": "shop"}})
        client.track(user_id="u", event="Own", context={"trace": {"traceId": "mine"}})
    client.track(user_id="u", event="Outside")
    client.flush()
    by_event = {m["event"]: m["context"] for m in server.messages}
    ids = outer.get_span_context()
    assert by_event["In Outer"]["trace"] == {
        "traceId": f"{ids.trace_id:032x}",
        "spanId": f"{ids.span_id:016x}",
    }
    assert by_event["In Inner"]["trace"]["spanId"] == f"{inner.get_span_context().span_id:016x}"
    assert by_event["In Inner"]["trace"]["traceId"] == f"{ids.trace_id:032x}"
    assert by_event["In Inner"]["app"] == {"name": "shop"}
    assert by_event["Own"]["trace"] == {"traceId": "mine"}
    assert "trace" not in by_event["Outside"]


def test_off_by_default(make_client: MakeClient, server: RecordingServer, tracer: object) -> None:
    client = make_client()
    with tracer.start_as_current_span("op"):  # type: ignore[attr-defined]
        client.track(user_id="u", event="E")
    client.flush()
    assert "trace" not in server.messages[0]["context"]
