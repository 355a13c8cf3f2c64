"""The documentation's code, run as written by the tests that keep it true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def run_snippet(section: str, starts_with: str = "", page: Path = README) -> dict[str, Any]:
    """Run the first ```python block of ``page`` (the README, or a page under docs/) after
    the heading ``section`` whose code starts with ``starts_with``; the names it defined."""
    text = page.read_text(encoding="utf-8")
    after = text[text.index(section) :]
    found = re.search(r"```python\n(" + re.escape(starts_with) + r".*?)```", after, re.S)
    assert found is not None, f"no python block starting {starts_with!r} after {section!r}"
    namespace: dict[str, Any] = {"__name__": "docs_snippet"}
    exec(compile(found.group(1), str(page), "exec"), namespace)
    return namespace


def scrub_pii_recipe() -> Any:
    """The docs' ``scrub_pii`` hook (docs/privacy.md), run as written."""
    return run_snippet("## Scrubbing", "# myapp/analytics.py\n", DOCS / "privacy.md")["scrub_pii"]
