"""The event viewer in headless Chromium: rows, expanding, filters, live refresh.

Skipped only when no Chromium is installed and CI is not set; in CI it must run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from segment_web import Analytics
from segment_web.collector import Collector
from tests.support.browser import chromium_or_skip, launched

from .helpers import post

CHROMIUM = chromium_or_skip()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

SCREENSHOT = Path("/tmp/collector.png")
WAIT_MS = 10_000
MakeClient = Callable[..., Analytics]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched(CHROMIUM) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: message.type == "error" and errors.append(message.text))
    yield opened
    context.close()
    assert errors == [], errors


def test_the_page_lists_expands_filters_and_refreshes_live(
    collector: Collector, make_client: MakeClient, page: Page
) -> None:
    # Held until flush(), so flush() counts all four (it counts what it waited for).
    client = make_client(write_key="demo-key", flush_at=100)
    client.flushed = True
    signup_id = client.track(
        user_id="user-42", event="Signed Up", properties={"plan": "pro", "seats": 3}
    )
    client.identify(user_id="user-42", traits={"email": "ada@example.com", "name": "Ada"})
    client.page(anonymous_id="anon-7", category="Docs", name="Install")
    client.track(anonymous_id="anon-7", event="Viewed Pricing")
    assert client.flush(timeout=10) == 4

    page.goto(collector.url)
    rows = page.locator("tr.event")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Viewed Pricing")  # newest first
    expect(rows.nth(3)).to_contain_text("Signed Up")
    expect(page.locator("#rows")).to_contain_text("user-42")
    expect(page.locator("#rows")).to_contain_text("anon-7")
    expect(page.locator("#rows")).to_contain_text("demo-key")
    expect(page.locator("#rows")).to_contain_text("Docs \u203a Install")
    expect(page.locator("#status")).to_have_text("Live")
    expect(page.locator("#summary")).to_have_text("4 events")

    # A row expands to the full pretty JSON, and stays expanded across refreshes.
    signup = rows.filter(has_text="Signed Up")
    signup.click()
    expect(signup).to_have_attribute("aria-expanded", "true")
    detail = page.locator("tr.detail pre")
    expect(detail).to_contain_text(f'"messageId": "{signup_id}"')
    expect(detail).to_contain_text('"plan": "pro"')
    expect(detail).to_contain_text('"name": "segment-web"')
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.wait_for_timeout(1500)  # at least one poll later
    expect(detail).to_be_visible()

    # Live refresh: a new event appears without a reload.
    page.evaluate("window.__sameDocument = true")
    client.track(user_id="user-42", event="Upgraded Plan")
    client.flush(timeout=10)
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("Upgraded Plan")
    assert page.evaluate("window.__sameDocument") is True

    # The type filter.
    page.select_option("#type", "track")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator(".badge")).to_have_text("track")
    assert "type=track" in page.url

    # The user filter matches userId or anonymousId; clicking a user sets it too.
    page.select_option("#type", "")
    page.fill("#user", "anon-7")
    expect(rows).to_have_count(2)
    expect(page.locator("#rows")).not_to_contain_text("user-42")
    page.fill("#user", "")
    expect(rows).to_have_count(5)
    page.locator("span.who", has_text="user-42").first.locator("button.only").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#user")).to_have_value("user-42")

    # Filters live in the URL, so a reload keeps them.
    page.reload()
    expect(page.locator("#user")).to_have_value("user-42")
    expect(rows).to_have_count(3)


def test_an_empty_collector_explains_how_to_send(collector: Collector, page: Page) -> None:
    page.goto(collector.url)
    expect(page.locator("#empty")).to_contain_text("No events yet")
    expect(page.locator("#empty")).to_contain_text(f'host="{collector.url}"')
    # Untrusted text is shown as text, never run as markup.
    hostile = '<img src=x onerror="window.__owned = 1">'
    response = post(collector.url, "/v1/track", {"userId": hostile, "event": hostile})
    assert response.status_code == 200
    rows = page.locator("tr.event")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("tr.detail pre")).to_contain_text("onerror")
    expect(rows.first).to_contain_text(hostile)
    assert page.evaluate("window.__owned") is None


def with_context(
    message: dict[str, object], ip: str, path: str, **campaign: str
) -> dict[str, object]:
    context = {"ip": ip, "page": {"path": path, "url": f"http://shop.test{path}"}}
    if campaign:
        context["campaign"] = campaign
    return {**message, "context": context}


def test_rows_show_ip_path_and_campaign_and_expand_from_anywhere(
    collector: Collector, page: Page
) -> None:
    batch = [
        with_context(
            {"type": "page", "anonymousId": "anon-1", "name": "Pricing"},
            "203.0.113.7",
            "/pricing",
            source="newsletter",
            medium="email",
            name="autumn",
        ),
        with_context(
            {"type": "track", "userId": "customer-1001", "event": "Order Completed"},
            "198.51.100.23",
            "/checkout",
        ),
        {"type": "track", "userId": "customer-77", "event": "Order Refunded"},
        {"type": "identify", "userId": "customer-1001", "traits": {"plan": "pro"}},
    ]
    assert post(collector.url, "/v1/batch", {"batch": batch}).status_code == 200
    page.goto(collector.url)
    rows = page.locator("tr.event")
    expect(rows).to_have_count(4)
    pricing = rows.filter(has_text="Pricing")
    expect(pricing.locator('[data-fact="ip"]')).to_have_text("ip203.0.113.7")
    expect(pricing.locator('[data-fact="path"]')).to_have_text("path/pricing")
    expect(pricing.locator('[data-fact="campaign"]')).to_have_text(
        "campaignnewsletter / email / autumn"
    )
    completed = rows.filter(has_text="Order Completed")
    expect(completed.locator('[data-fact="ip"]')).to_have_text("ip198.51.100.23")
    expect(completed.locator('[data-fact="path"]')).to_have_text("path/checkout")
    expect(completed.locator('[data-fact="campaign"]')).to_have_count(0)

    # A click in the middle of a row, and in the middle of each of its cells, toggles it.
    box = completed.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(completed).to_have_attribute("aria-expanded", "true")
    expect(page.locator("tr.detail pre")).to_contain_text('"ip": "198.51.100.23"')
    cells = completed.locator("td")
    expect(cells).to_have_count(6)
    for index in range(6):
        expanded_before = completed.get_attribute("aria-expanded") == "true"
        cell = cells.nth(index).bounding_box()
        assert cell is not None
        page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
        expect(completed).to_have_attribute("aria-expanded", str(not expanded_before).lower())
    assert "user=" not in page.url  # none of those clicks set a filter

    # The event filter matches part of the event or page name, ignoring case.
    page.fill("#event", "order")
    expect(rows).to_have_count(2)
    assert "event=order" in page.url
    page.fill("#event", "pric")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Pricing")
    page.fill("#event", "")
    expect(rows).to_have_count(4)

    # The user filter matches part of a userId or anonymousId.
    page.fill("#user", "customer-")
    expect(rows).to_have_count(3)
    page.fill("#user", "1001")
    expect(rows).to_have_count(2)

    # With filters set, the delete button deletes only what they show.
    page.fill("#event", "order")
    expect(rows).to_have_count(1)
    expect(page.locator("#clear")).to_have_text("Delete matching")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#clear")
    expect(rows).to_have_count(0)
    page.fill("#event", "")
    page.fill("#user", "")
    expect(page.locator("#clear")).to_have_text("Clear all")
    expect(rows).to_have_count(3)
    assert [event.event_or_name for event in collector.events()] == [
        None,
        "Order Refunded",
        "Pricing",
    ]


def test_the_page_says_what_faults_are_injected(db_path: Path, page: Page) -> None:
    with Collector(db_path, latency_ms=5, fail_rate=0.5, fail_seed=1) as collector:
        statuses = [
            post(collector.url, "/v1/track", {"type": "track", "userId": "u", "event": f"E{n}"})
            for n in range(6)
        ]
        failed = [response.status_code for response in statuses].count(503)
        assert failed == collector.injected_failures > 0
        page.goto(collector.url)
        expect(page.locator("#summary")).to_have_text(
            f"{6 - failed} events · rehearsal: answers after 5 ms, "
            f"fails 50% of batches with 503 ({failed} so far)"
        )
        page.goto("about:blank")  # stop polling before the collector stops
