"""The options passed to ``configure()``, ``SegmentMiddleware`` (and Starlette's
``add_middleware``) and Flask's ``Segment`` are typed from the option registry: a type
checker (mypy here) catches a misspelled option or a value of the wrong type before the
app runs."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette

pytest.importorskip("mypy")

# Each line ending in "# error: ..." must get a mypy error containing that text; no
# other line may get one.
USES = """
import segment_web
from segment_web.asgi import SegmentMiddleware
from segment_web.flask import Segment
from starlette.applications import Starlette


async def app(scope: object, receive: object, send: object) -> None: ...

segment_web.configure("k", flush_at=3, host="api.segment.io", spool_dir="/tmp/s")
SegmentMiddleware(app, lambda scope: "k", auto_page=False, page_exclude=("/admin/.*",))
Segment(write_key=lambda: "k", host=lambda: "h", max_clients=4)
Starlette().add_middleware(SegmentMiddleware, write_key="k", flush_at=2)
segment_web.configure("k", flush_at="x")  # error: "flush_at" to "configure" has incompatible type "str"
segment_web.configure("k", flush_att=3)  # error: did you mean "flush_at"
SegmentMiddleware(app, "k", auto_page="yes")  # error: "auto_page" to "SegmentMiddleware" has incompatible type "str"
Segment(write_key="k", anonymize_ip=1)  # error: "anonymize_ip" to "Segment" has incompatible type "int"
Starlette().add_middleware(SegmentMiddleware, capture_ipp=False)  # error: did you mean "capture_ip"
"""  # noqa: E501


# Newer Starlette types add_middleware's middleware as a factory (a ParamSpec through its
# call), through which mypy checks the middleware's keywords; with the oldest supported
# release (0.37.2: a class of a Protocol) mypy lets any keyword through.
STARLETTE_TYPES_ITS_MIDDLEWARE = "_MiddlewareFactory" in str(
    inspect.signature(Starlette.add_middleware)
)


def test_a_type_checker_catches_bad_options(tmp_path: Path) -> None:
    uses = tmp_path / "uses.py"
    uses.write_text(USES)
    expected = {
        number: line.split("# error: ", 1)[1]
        for number, line in enumerate(USES.splitlines(), 1)
        if "# error: " in line and (STARLETTE_TYPES_ITS_MIDDLEWARE or "add_middleware" not in line)
    }
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"]
    run = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path / "cache"), str(uses)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors: dict[int, str] = {}
    for number, message in re.findall(r"uses\.py:(\d+): error: (.*)", run.stdout):
        errors[int(number)] = errors.get(int(number), "") + message
    assert sorted(errors) == sorted(expected), run.stdout + run.stderr
    for number, words in expected.items():
        assert words in errors[number], (number, errors[number])
