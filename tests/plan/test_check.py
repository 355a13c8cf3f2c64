"""``TrackingPlan.check``: the violations of one wire-shaped message, with their paths."""

from __future__ import annotations

from typing import Any

import pytest

from segment_web.plan import TrackingPlan, Violation
from tests.plan.conftest import valid_order


def track(event: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "track", "event": event, "userId": "u1"}
    if properties is not None:
        message["properties"] = properties
    return message


def test_a_message_that_follows_the_plan_has_no_violations(shop_plan: TrackingPlan) -> None:
    assert shop_plan.check(track("Order Completed", valid_order())) == []
    assert shop_plan.check(track("Product Viewed", {"productId": "p1", "tags": ["a"]})) == []
    assert shop_plan.check(track("Signed Out")) == []


@pytest.mark.parametrize(
    ("properties", "path", "rule"),
    [
        (valid_order(revenue="12"), "properties.revenue", "'12' is not of type 'number'"),
        (
            valid_order(currency="JPY"),
            "properties.currency",
            "'JPY' is not one of ['EUR', 'USD', 'GBP']",
        ),
        (valid_order(coupon=5), "properties.coupon", "5 is not of type 'string', 'null'"),
        (
            valid_order(products=[{"sku": "s", "quantity": 0}]),
            "properties.products.0.quantity",
            "0 is less than the minimum of 1",
        ),
        (
            valid_order(products=[{"quantity": 1}]),
            "properties.products.0.sku",
            "'sku' is a required property",
        ),
        (
            valid_order(shipping={"method": "express", "address": {}}),
            "properties.shipping.address.city",
            "'city' is a required property",
        ),
        (
            valid_order(shipping={"method": "drone"}),
            "properties.shipping.method",
            "'drone' is not one of ['standard', 'express']",
        ),
    ],
)
def test_each_broken_rule_is_named_by_its_path(
    shop_plan: TrackingPlan, properties: dict[str, Any], path: str, rule: str
) -> None:
    assert shop_plan.check(track("Order Completed", properties)) == [
        Violation("Order Completed", path, rule)
    ]


def test_missing_required_properties_are_each_named(shop_plan: TrackingPlan) -> None:
    violations = shop_plan.check(track("Order Completed", {"order_id": "o1"}))
    assert [(v.path, v.rule) for v in violations] == [
        ("properties.revenue", "'revenue' is a required property"),
        ("properties.currency", "'currency' is a required property"),
    ]
    # No properties at all: each required one is named, not the absent object.
    assert [v.path for v in shop_plan.check(track("Order Completed"))] == [
        "properties.order_id",
        "properties.revenue",
        "properties.currency",
    ]


def test_an_unplanned_event_is_a_violation_unless_allowed(shop_plan: TrackingPlan) -> None:
    [violation] = shop_plan.check(track("Order Complete", {}))
    assert violation == Violation(
        "Order Complete",
        "event",
        "'Order Complete' is not an event of the tracking plan 'Acme Shop'; "
        "did you mean 'Order Completed'?",
    )
    assert shop_plan.check(track("Order Complete"), allow_unplanned_events=True) == []


def test_identify_traits(shop_plan: TrackingPlan) -> None:
    identify = {"type": "identify", "userId": "u1", "traits": {"email": "a@b.c", "age": 30}}
    assert shop_plan.check(identify) == []
    broken = {"type": "identify", "userId": "u1", "traits": {"age": "thirty"}}
    assert [str(v) for v in shop_plan.check(broken)] == [
        "traits.age: 'thirty' is not of type 'integer'",
        "traits.email: 'email' is a required property",
    ]


def test_calls_without_rules_are_not_checked(shop_plan: TrackingPlan) -> None:
    assert shop_plan.check({"type": "page", "name": "Home", "properties": {"x": 1}}) == []
    assert shop_plan.check({"type": "group", "groupId": "g", "traits": {"x": 1}}) == []


def test_global_rules_apply_to_every_call() -> None:
    plan = TrackingPlan.from_dict(
        {
            "rules": {
                "events": [{"name": "Paid", "rules": {}}],
                "global": {
                    "properties": {
                        "context": {"type": "object", "required": ["locale"]},
                    }
                },
            }
        }
    )
    assert plan.check({"type": "track", "event": "Paid", "context": {"locale": "fr"}}) == []
    assert plan.check({"type": "page", "context": {}}) == [
        Violation("page", "context.locale", "'locale' is a required property")
    ]


def test_a_huge_value_is_quoted_short(shop_plan: TrackingPlan) -> None:
    [violation] = shop_plan.check(track("Order Completed", valid_order(revenue="9" * 5000)))
    assert violation.path == "properties.revenue"
    assert len(violation.rule) <= 200
    assert violation.rule.endswith("...")
