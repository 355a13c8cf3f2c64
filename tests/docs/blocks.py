"""The code blocks of the documentation (docs/**/*.md and README.md), as the tests run them.

A ```python block runs as written, in a fresh namespace, with the page's own temporary
directory as the working directory, while ``segment_web.testing.capture_events()`` keeps
every client off the network. An HTML comment on the line before a block changes that
(keep these few: a reader cannot see them):

- ``<!-- docs-test: skip REASON -->``: not run (a fragment of the reader's own app).
- ``<!-- docs-test: given CODE -->``: CODE runs first, in the block's namespace (the
  names a fragment takes from the code around it).
- ``<!-- docs-test: continue -->``: runs in the namespace of the page's previous block.
- ``<!-- docs-test: live -->``: runs without the capture (it starts its own collector).
- ``<!-- docs-test: collector -->``: runs without the capture against a real collector
  started by the test, whose URL replaces ``http://127.0.0.1:8765``; it must receive
  at least one event.
- ``<!-- docs-test: file NAME -->`` before a block of any language: its text is written
  to NAME in the page's directory, for the blocks after it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w-]*)[ \t]*$")
_MARKER = re.compile(r"^\s*<!-- docs-test: (?P<kind>[\w-]+)(?: (?P<argument>.*?))? -->\s*$")
KINDS = {"skip", "given", "continue", "live", "collector", "file"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based, of the opening fence
    language: str
    code: str
    kind: str | None = None
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """Every fenced block of a page, with the marker before it, if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None or not opening["language"]:
            index += 1
            continue
        indent = opening["indent"]
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != indent + "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page}:{index + 1}: a code block that is never closed")
        code = textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"
        previous = index - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = _MARKER.match(lines[previous]) if previous >= 0 else None
        kind = marker["kind"] if marker else None
        if kind is not None and kind not in KINDS:
            raise AssertionError(f"{page}:{previous + 1}: unknown docs-test marker {kind!r}")
        argument = (marker["argument"] or "") if marker else ""
        found.append(Block(page, index + 1, opening["language"], code, kind, argument))
        index = end + 1
    return found
