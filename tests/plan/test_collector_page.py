"""The collector's page with ``--plan``, in headless Chromium: a badge on each event
that breaks the plan, its reasons when expanded, and the plan filter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from segment_web.collector import Collector
from segment_web.collector.violations import PlanFlags
from tests.collector.helpers import post
from tests.collector.test_page import browser, page
from tests.plan.conftest import SHOP_PLAN, valid_order

__all__ = ["browser", "page"]  # the headless Chromium fixtures of the collector's tests

SCREENSHOT = Path("/tmp/collector-plan.png")


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Collector]:
    with Collector(tmp_path / "events.sqlite3", plan=PlanFlags(SHOP_PLAN)) as running:
        yield running


def test_the_page_marks_violations_and_filters_on_them(planned: Collector, page: Page) -> None:
    batch = [
        {"type": "track", "userId": "u1", "event": "Order Completed", "properties": valid_order()},
        {
            "type": "track",
            "userId": "u1",
            "event": "Order Completed",
            "properties": valid_order(revenue="12", currency="JPY"),
        },
        {"type": "page", "userId": "u1", "name": "Home"},
    ]
    assert post(planned.url, "/v1/batch", {"batch": batch}).status_code == 200
    page.goto(planned.url)
    rows = page.locator("tr.event")
    expect(rows).to_have_count(3)
    expect(page.locator("#plan-filter")).to_be_visible()
    badges = page.locator("tr.event .violation")
    expect(badges).to_have_count(1)
    expect(badges).to_have_text("✗ 2 plan violations")
    broken = rows.filter(has=page.locator(".violation"))
    expect(broken).to_contain_text("Order Completed")

    broken.click()
    reasons = page.locator("tr.detail ul.violations li")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_have_text("properties.revenue: '12' is not of type 'number'")
    expect(reasons.nth(1)).to_contain_text("properties.currency: 'JPY' is not one of")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.select_option("#violations", "1")
    expect(rows).to_have_count(1)
    assert "violations=1" in page.url
    page.select_option("#violations", "0")
    expect(rows).to_have_count(2)
    expect(page.locator("tr.event .violation")).to_have_count(0)
    page.reload()
    expect(page.locator("#violations")).to_have_value("0")
    expect(rows).to_have_count(2)


def test_without_a_plan_the_filter_is_hidden(tmp_path: Path, page: Page) -> None:
    with Collector(tmp_path / "plain.sqlite3") as plain:
        assert post(plain.url, "/v1/track", {"userId": "u", "event": "E"}).status_code == 200
        page.goto(plain.url)
        expect(page.locator("tr.event")).to_have_count(1)
        expect(page.locator("#plan-filter")).to_be_hidden()
