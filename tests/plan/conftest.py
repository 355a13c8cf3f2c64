"""Tracking-plan tests: the shop plan (three events, identify traits) and clients aimed
at the recording server (the core tests' fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segment_web.plan import TrackingPlan
from tests.support.client_fixtures import make_client, record_signal

__all__ = ["make_client", "record_signal"]

SHOP_PLAN = Path(__file__).with_name("shop_plan.json")


@pytest.fixture
def shop_plan() -> TrackingPlan:
    return TrackingPlan.load(SHOP_PLAN)


def valid_order(**changes: object) -> dict[str, object]:
    """Properties of an Order Completed event that follow the plan, with ``changes``."""
    properties: dict[str, object] = {
        "order_id": "o-1",
        "revenue": 9.5,
        "currency": "EUR",
        "products": [{"sku": "sku-1", "quantity": 2, "price": 4.75}],
        "shipping": {"method": "express", "address": {"city": "Lyon", "postal-code": "69001"}},
    }
    properties.update(changes)
    return properties
