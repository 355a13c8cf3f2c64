"""The options passed to ``configure()``, ``SegmentMiddleware`` and Flask's ``Segment``
are typed from the option registry: a type checker (mypy here) catches a misspelled
option or a value of the wrong type before the app runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

USES = """
import segment_web
from segment_web.asgi import SegmentMiddleware
from segment_web.flask import Segment


async def app(scope: object, receive: object, send: object) -> None: ...

segment_web.configure("k", flush_at=3, host="api.segment.io", spool_dir="/tmp/s")
SegmentMiddleware(app, lambda scope: "k", auto_page=False, page_exclude=("/admin/.*",))
Segment(write_key=lambda: "k", host=lambda: "h", max_clients=4)
segment_web.configure("k", flush_at="x")  # line 12
segment_web.configure("k", flush_att=3)  # line 13
SegmentMiddleware(app, "k", auto_page="yes")  # line 14
Segment(write_key="k", anonymize_ip=1)  # line 15
"""


def test_a_type_checker_catches_bad_options(tmp_path: Path) -> None:
    uses = tmp_path / "uses.py"
    uses.write_text(USES)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"]
    run = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path / "cache"), str(uses)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = {
        int(line): message
        for line, message in re.findall(r"uses\.py:(\d+): error: (.*)", run.stdout)
    }
    assert sorted(errors) == [12, 13, 14, 15], run.stdout + run.stderr
    assert '"flush_at" to "configure" has incompatible type "str"' in errors[12]
    assert 'Unexpected keyword argument "flush_att"' in errors[13]
    assert 'did you mean "flush_at"' in errors[13]
    assert '"auto_page" to "SegmentMiddleware" has incompatible type "str"' in errors[14]
    assert '"anonymize_ip" to "Segment" has incompatible type "int"' in errors[15]
