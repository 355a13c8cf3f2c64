"""``segment_events.assert_valid(plan)``: a test suite catches a broken event."""

from __future__ import annotations

import pytest

from segment_web.testing import CapturedEvents
from tests.plan.conftest import SHOP_PLAN, valid_order
from tests.support.client_helpers import MakeClient


def test_assert_valid_passes_for_events_that_follow_the_plan(
    segment_events: CapturedEvents, make_client: MakeClient
) -> None:
    client = make_client()
    client.track(user_id="u1", event="Order Completed", properties=valid_order())
    client.identify(user_id="u1", traits={"email": "a@b.c"})
    client.page(user_id="u1", name="Home")
    segment_events.assert_valid(SHOP_PLAN)
    assert len(segment_events) == 3


def test_assert_valid_names_each_broken_message(
    segment_events: CapturedEvents, make_client: MakeClient
) -> None:
    client = make_client()
    client.track(user_id="u1", event="Order Completed", properties=valid_order())
    client.track(user_id="u1", event="Order Completed", properties=valid_order(revenue="12"))
    client.track(user_id="u1", event="Coupon Applied")
    with pytest.raises(AssertionError) as failed:
        segment_events.assert_valid(SHOP_PLAN)
    assert str(failed.value).splitlines() == [
        "2 of 3 captured message(s) break the tracking plan 'Acme Shop':",
        "message 1: 'Order Completed' violates the tracking plan: "
        "properties.revenue: '12' is not of type 'number'",
        "message 2: 'Coupon Applied' violates the tracking plan: "
        "event: 'Coupon Applied' is not an event of the tracking plan 'Acme Shop'",
    ]
    with pytest.raises(AssertionError, match="1 of 3"):
        segment_events.assert_valid(SHOP_PLAN, allow_unplanned_events=True)


def test_raise_mode_refuses_before_the_capture(
    segment_events: CapturedEvents, make_client: MakeClient
) -> None:
    client = make_client(tracking_plan=SHOP_PLAN, plan_mode="raise")
    with pytest.raises(ValueError, match=r"properties\.revenue"):
        client.track(user_id="u1", event="Order Completed", properties=valid_order(revenue="1"))
    assert segment_events == []
