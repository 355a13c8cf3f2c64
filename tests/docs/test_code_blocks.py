"""Every Python block of the documentation runs as written (see ``blocks.py`` for the
few markers that change how)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segment_web import Analytics
from segment_web import api as module_api
from segment_web.collector import Collector
from segment_web.testing import capture_events

from .blocks import PAGES, ROOT, Block, blocks_of

LOCAL_COLLECTOR = "http://127.0.0.1:8765"
PAGES_WITH_CODE = [page for page in PAGES if any(b.language == "python" for b in blocks_of(page))]


@pytest.fixture
def own_default_client() -> Iterator[None]:
    """The module-level default the pages configure is theirs; the one before comes back."""
    saved = module_api._default
    module_api._default = None
    yield
    made = module_api._default
    module_api._default = saved
    if made is not None and made is not saved:
        made.shutdown(timeout=2)


def _close_clients(namespace: dict[str, Any]) -> None:
    for value in namespace.values():
        if isinstance(value, Analytics) and not value.closed:
            value.shutdown(timeout=2)


def _run(block: Block, namespace: dict[str, Any], directory: Path) -> None:
    code = block.code
    if block.kind == "given":
        exec(compile(block.argument, f"{block.where} (given)", "exec"), namespace)
    if block.kind == "collector":
        assert LOCAL_COLLECTOR in code, f"{block.where}: no {LOCAL_COLLECTOR} to point elsewhere"
        with Collector(directory / "collector.sqlite3") as collector:
            exec(
                compile(code.replace(LOCAL_COLLECTOR, collector.url), block.where, "exec"),
                namespace,
            )
            _close_clients(namespace)
            assert collector.events(), f"{block.where}: the collector received nothing"
        return
    if block.kind == "live":
        exec(compile(code, block.where, "exec"), namespace)
        return
    with capture_events():
        exec(compile(code, block.where, "exec"), namespace)


@pytest.mark.parametrize(
    "page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE]
)
def test_every_python_block_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_default_client: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, Any] = {}
    namespaces: list[dict[str, Any]] = []
    ran = 0
    try:
        for block in blocks_of(page):
            if block.kind == "file":
                (tmp_path / block.argument).write_text(block.code, encoding="utf-8")
                continue
            if block.language != "python" or block.kind == "skip":
                continue
            if block.kind != "continue":
                namespace = {"__name__": "docs_snippet"}
                namespaces.append(namespace)
            try:
                _run(block, namespace, tmp_path)
            except Exception as error:
                raise AssertionError(f"{block.where} failed: {error!r}") from error
            ran += 1
    finally:
        for each in namespaces:
            _close_clients(each)
    assert ran, f"{page}: every Python block is skipped"


def test_markers_are_few_and_skips_say_why() -> None:
    marked = [b for page in PAGES for b in blocks_of(page) if b.kind is not None]
    skipped = [b for b in marked if b.kind == "skip"]
    python = [b for page in PAGES for b in blocks_of(page) if b.language == "python"]
    assert all(b.argument for b in skipped), [b.where for b in skipped if not b.argument]
    # Most blocks run exactly as a reader would copy them.
    assert len(skipped) * 10 <= len(python), [b.where for b in skipped]


def test_no_block_targets_a_real_endpoint_unless_captured() -> None:
    for page in PAGES:
        for block in blocks_of(page):
            if block.kind in ("live", "collector"):
                assert "api.segment.io" not in block.code, block.where
                assert "YOUR_WRITE_KEY" not in block.code, block.where
