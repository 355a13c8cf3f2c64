"""The request-path regression guard: instructions the adapters add to a request.

    .venv/bin/python -m benchmarks.instruction_budget           # measure, compare, print
    .venv/bin/python -m benchmarks.instruction_budget --update  # write the new budget

For Django and Flask, each of the benchmark's two endpoints (the HTML page with its
automatic page call, the JSON endpoint with a ``track``) runs bare and with the adapter
under ``valgrind --tool=callgrind``, twice (``SMALL`` and ``LARGE`` requests after the
same warm-up): the difference of the totals over the difference in requests is the
instructions per request, start-up and warm-up cancelled out, and the adapter's share is
its count less the bare one. Instruction counts hardly move with machine load (about
2 % from thread interleaving and garbage collection), so CI can hold them to a budget:
``instruction_budget.json`` beside this file. The test suite fails when a figure grows
more than ``TOLERANCE`` over it. The budget changes only in a commit that says why.
Needs Debian's ``valgrind``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import adapter_bench as bench

BUDGET = Path(__file__).with_name("instruction_budget.json")
TOLERANCE = 0.05
SMALL, LARGE = 100, 500  # requests measured, in blocks of bench.BLOCK
FRAMEWORKS = ("django", "flask")
VARIANTS = ("bare", "segment")


def run_child(framework: str, variant: str, path: str, requests: int) -> None:
    """In this process (under callgrind): warm up, then ``requests`` requests to ``path``
    in blocks, each followed by a flush, so the delivery of its events is counted."""
    sink = bench.Sink()
    try:
        if framework == "django":
            from benchmarks.django import run as django_run

            run_block, flush = django_run.setup(sink)
        else:
            from benchmarks.flask import run as flask_run

            run_block, flush = flask_run.setup(sink)
        run_block(variant, path, bench.WARMUP, [])
        flush()
        for _ in range(requests // bench.BLOCK):
            run_block(variant, path, bench.BLOCK, [])
            flush()
    finally:
        sink.close()


def total_instructions(framework: str, variant: str, path: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.instruction_budget",
            "--child",
            json.dumps([framework, variant, path, requests]),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, check=True, capture_output=True, timeout=1800, env=env)
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        assert totals is not None, "no totals line in callgrind's output"
        return int(totals.group(1))


def per_request(framework: str, variant: str, path: str) -> float:
    with ThreadPoolExecutor(2) as pool:  # the two sizes side by side
        small, large = pool.map(
            lambda n: total_instructions(framework, variant, path, n), (SMALL, LARGE)
        )
    return (large - small) / (LARGE - SMALL)


def measure() -> dict[str, dict[str, int]]:
    """Instructions the adapter adds per request: {framework: {endpoint path: count}}."""
    added: dict[str, dict[str, int]] = {}
    for framework in FRAMEWORKS:
        for endpoint in bench.ENDPOINTS:
            bare, segment = (per_request(framework, v, endpoint.path) for v in VARIANTS)
            added.setdefault(framework, {})[endpoint.path] = round(segment - bare)
    return added


def over_budget(measured: dict[str, dict[str, int]], budget: dict[str, Any]) -> list[str]:
    """One line per figure more than ``TOLERANCE`` over its budget."""
    problems = []
    for framework, paths in measured.items():
        for path, count in paths.items():
            allowed = budget["added_per_request"][framework][path] * (1 + TOLERANCE)
            if count > allowed:
                problems.append(
                    f"{framework} {path}: {count:,} instructions added per request, "
                    f"over the budget's {allowed:,.0f} ({TOLERANCE:.0%} over "
                    f"{budget['added_per_request'][framework][path]:,})"
                )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the measured budget")
    args = parser.parse_args()
    measured = measure()
    print(json.dumps(measured, indent=2))
    if args.update:
        budget = {
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "added_per_request": measured,
        }
        BUDGET.write_text(json.dumps(budget, indent=2) + "\n")
        print(f"wrote {BUDGET}")
        return
    problems = over_budget(measured, json.loads(BUDGET.read_text()))
    print("\n".join(problems) or "within the budget")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_child(*json.loads(sys.argv[2]))
    else:
        main()
