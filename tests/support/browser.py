"""Debian's Chromium for the tests that drive a page with Playwright.

A module that needs it calls ``chromium_or_skip()`` at import: skipped only when no
Chromium is installed and CI is not set; in CI the test must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str | None:
    """The Chromium executable; skips the calling module without one unless CI is set
    (then the module's browser fixture fails, naming the problem)."""
    found = find_chromium()
    if found is None and not os.environ.get("CI"):
        pytest.skip(
            "no chromium executable (set CHROMIUM=/path or install chromium); "
            "this test is required when CI is set",
            allow_module_level=True,
        )
    return found


@contextmanager
def launched(executable: str | None) -> Iterator[Browser]:
    """Chromium driven by Playwright, closed afterwards."""
    assert executable is not None, "CI is set but no chromium executable was found"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
