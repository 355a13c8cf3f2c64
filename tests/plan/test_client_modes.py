"""The client's plan_mode: raise, report or drop, judged on the caller's thread."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from segment_web import MessageDropped, PlanViolation, ValidationError, signals
from segment_web.plan import PlanError, TrackingPlan
from tests.plan.conftest import SHOP_PLAN, valid_order
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer


def test_raise_mode_refuses_a_violating_call_and_sends_the_rest(
    make_client: MakeClient, server: RecordingServer, shop_plan: TrackingPlan
) -> None:
    client = make_client(tracking_plan=shop_plan, plan_mode="raise")
    with pytest.raises(PlanViolation) as raised:
        client.track(user_id="u1", event="Order Completed", properties=valid_order(revenue="12"))
    error = raised.value
    assert isinstance(error, ValidationError)
    assert (error.event, error.field, error.problem) == (
        "Order Completed",
        "properties.revenue",
        "'12' is not of type 'number'",
    )
    assert str(error) == (
        "'Order Completed' violates the tracking plan: "
        "properties.revenue: '12' is not of type 'number'"
    )
    with pytest.raises(PlanViolation, match="'Order Complete' is not an event"):
        client.track(user_id="u1", event="Order Complete", properties=valid_order())
    with pytest.raises(PlanViolation, match=r"traits\.email: 'email' is a required property"):
        client.identify(user_id="u1", traits={"plan": "pro"})
    assert client.queued == 0

    client.track(user_id="u1", event="Order Completed", properties=valid_order())
    client.identify(user_id="u1", traits={"email": "a@b.c", "plan": "pro"})
    client.page(user_id="u1", name="Home")
    assert client.flush(timeout=10) == 3
    assert [m["type"] for m in server.messages] == ["track", "identify", "page"]
    assert server.messages[0]["properties"] == valid_order()


def test_report_mode_sends_unchanged_signals_and_logs(
    make_client: MakeClient,
    server: RecordingServer,
    record_signal: RecordSignal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    violations = record_signal(signals.plan_violation)
    client = make_client(tracking_plan=SHOP_PLAN)  # report is the default mode
    caplog.set_level(logging.WARNING, logger="segment_web")
    bad = valid_order(currency="JPY")
    message_id = client.track(user_id="u1", event="Order Completed", properties=bad)
    assert client.flush(timeout=10) == 1
    [sent] = server.messages
    assert (sent["messageId"], sent["properties"]) == (message_id, bad)

    [(sender, kwargs)] = violations.wait(1)
    assert sender is client
    assert kwargs["event"] == "Order Completed"
    assert kwargs["message"]["messageId"] == message_id
    assert [str(v) for v in kwargs["violations"]] == [
        "properties.currency: 'JPY' is not one of ['EUR', 'USD', 'GBP']"
    ]
    [record] = [r for r in caplog.records if "violates the tracking plan" in r.getMessage()]
    assert record.name == "segment_web"
    assert "properties.currency: 'JPY'" in record.getMessage()


def test_report_mode_logs_a_flood_of_one_event_once(
    make_client: MakeClient, record_signal: RecordSignal, caplog: pytest.LogCaptureFixture
) -> None:
    violations = record_signal(signals.plan_violation)
    client = make_client(tracking_plan=SHOP_PLAN, plan_mode="report")
    caplog.set_level(logging.WARNING, logger="segment_web")
    for _ in range(50):
        client.track(user_id="u1", event="Order Completed", properties={"order_id": 1})
    client.track(user_id="u1", event="Product Viewed", properties={})
    assert len(violations.wait(51)) == 51  # the signal sees every one
    logged = [
        r.getMessage() for r in caplog.records if "violates the tracking plan" in r.getMessage()
    ]
    assert len(logged) == 2
    assert logged[0].startswith("segment_web: 'Order Completed' violates")
    assert logged[1].startswith("segment_web: 'Product Viewed' violates")
    assert client.queued == 51


def test_drop_mode_reports_the_drop_and_sends_the_rest(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    dropped = record_signal(signals.message_dropped)
    violations = record_signal(signals.plan_violation)
    client = make_client(tracking_plan=SHOP_PLAN, plan_mode="drop")
    callbacks = Callbacks()
    bad_id = client.track(
        user_id="u1", event="Signed Up", properties={}, callback=callbacks
    )  # unplanned
    good_id = client.track(
        user_id="u1", event="Order Completed", properties=valid_order(), callback=callbacks
    )
    assert client.flush(timeout=10) == 1
    assert [m["messageId"] for m in server.messages] == [good_id]

    [(sender, kwargs)] = dropped.wait(1)
    assert (sender, kwargs["message_id"], kwargs["reason"]) == (client, bad_id, "plan violation")
    [(_, about)] = violations.wait(1)
    assert about["event"] == "Signed Up"
    errors = callbacks.wait(2)
    assert isinstance(errors[0], MessageDropped)
    assert errors[0].reason == "plan violation"
    assert errors[1] is None


def test_unplanned_events_pass_when_allowed(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(
        tracking_plan=str(SHOP_PLAN), plan_mode="raise", allow_unplanned_events=True
    )
    client.track(user_id="u1", event="Newsletter Opened", properties={"anything": 1})
    with pytest.raises(PlanViolation):  # planned events are still checked
        client.track(user_id="u1", event="Product Viewed", properties={})
    assert client.flush(timeout=10) == 1
    assert server.messages[0]["event"] == "Newsletter Opened"


def test_the_check_judges_the_values_as_sent(
    make_client: MakeClient, server: RecordingServer
) -> None:
    """A datetime is sent as a string and a tuple as an array: the plan sees them so."""
    client = make_client(tracking_plan=Path(SHOP_PLAN), plan_mode="raise")
    when = dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.timezone.utc)
    properties = {"productId": "p1", "tags": ("new", "sale"), "timestamp": when}
    client.track(user_id="u1", event="Product Viewed", properties=properties)
    with pytest.raises(PlanViolation, match=r"properties\.tags\.1: 2 is not of type 'string'"):
        client.track(
            user_id="u1", event="Product Viewed", properties={"productId": "p", "tags": ("a", 2)}
        )
    assert client.flush(timeout=10) == 1
    assert server.messages[0]["properties"]["tags"] == ["new", "sale"]


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"plan_mode": "loud"}, ValueError, "plan_mode must be one of 'raise', 'report', 'drop'"),
        ({"allow_unplanned_events": "yes"}, ValueError, "allow_unplanned_events must be True"),
        ({"tracking_plan": 42}, ValueError, "tracking_plan must be a TrackingPlan or the path"),
        ({"tracking_plan": "no/such/plan.json"}, PlanError, "plan.json: cannot be read"),
    ],
)
def test_bad_plan_options_are_refused_naming_them(
    make_client: MakeClient, options: dict[str, object], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        make_client(**options)
