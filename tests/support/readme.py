"""The README's code, run as written by the tests that keep it true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def run_snippet(section: str, starts_with: str = "") -> dict[str, Any]:
    """Run the first ```python block after the heading ``section`` whose code starts
    with ``starts_with``; the names it defined."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(section) :]
    found = re.search(r"```python\n(" + re.escape(starts_with) + r".*?)```", after, re.S)
    assert found is not None, f"no python block starting {starts_with!r} after {section!r}"
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(found.group(1), str(README), "exec"), namespace)
    return namespace
