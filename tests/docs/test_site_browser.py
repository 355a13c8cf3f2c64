"""The built documentation site in headless Chromium: pages render, and search works.

Skipped only when no Chromium is installed and CI is not set; in CI it must run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import chromium_or_skip, launched

CHROMIUM = chromium_or_skip()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched(CHROMIUM) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    # The site is self-contained: anything not on 127.0.0.1 (web fonts) is refused.
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("http://127.0.0.1:")
            else route.abort()
        ),
    )
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def test_the_home_page_renders_with_its_navigation(page: Page, site_url: str) -> None:
    page.goto(site_url + "/")
    expect(page).to_have_title("segment_web")
    expect(page.locator("article h1")).to_contain_text("segment_web")
    expect(page.locator("article table").first).to_be_visible()
    nav = page.locator("nav.md-nav--primary")
    expect(nav.get_by_role("link", name="Getting started").first).to_be_attached()
    expect(nav.get_by_role("link", name="Django").first).to_be_attached()


def test_a_framework_page_renders_its_code_and_sections(page: Page, site_url: str) -> None:
    page.goto(site_url + "/frameworks/django/")
    expect(page.locator("article h1")).to_contain_text("Django")
    for heading in ("Prerequisites", "Install", "Configure", "Verify your setup", "Options"):
        expect(page.locator("article h2", has_text=heading)).to_be_visible()
    code = page.locator("article pre code", has_text="segment_web.django.SegmentMiddleware")
    expect(code.first).to_be_visible()


def test_the_search_box_finds_the_spool(page: Page, site_url: str) -> None:
    page.goto(site_url + "/")
    search = page.locator("input.md-search__input")  # in the header on a wide screen
    search.click()
    search.press_sequentially("spool")  # typed: the search listens to key presses
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible(timeout=WAIT_MS)  # the index loads in a web worker
    expect(
        page.locator(".md-search-result__article", has_text="Durable delivery").first
    ).to_be_visible()
    results.locator("a").first.click()
    expect(page.locator("article")).to_contain_text("spool")
