"""The request-path regression guard: instructions the adapters add to a request.

    .venv/bin/python -m benchmarks.instruction_budget           # measure, compare, print
    .venv/bin/python -m benchmarks.instruction_budget --update  # write the new budget

For Django and Flask, one process per framework (``benchmarks/django/run.py`` and
``benchmarks/flask/run.py``'s apps, the method of ``benchmarks/adapter_bench.py``) runs
under ``valgrind --tool=callgrind``: after a warm-up, for each of the two endpoints (the
HTML page with its automatic ``page`` call, the JSON endpoint with a ``track``),
``ROUNDS`` rounds of one block of ``BLOCK`` requests bare and one with the adapter, each
block followed by a flush (its events delivered: the delivery thread's work is counted)
and a full garbage collection. The process marks the end of every block by calling
``os.getsid()``, and callgrind (``--dump-before=getsid``) writes its count since the
previous mark at each: the count of every block, all threads, with start-up, warm-up and
shutdown left out. Instructions added per request = (the adapter's blocks - the bare
ones) / the requests. The counts do not move with machine load (thread interleaving
and the delivery thread's timers vary a round by about 2 %, the mean of two rounds less),
so CI holds them to a budget: ``instruction_budget.json``
beside this file. A figure more than ``TOLERANCE`` over it fails the guard (and the test
suite's ``tests/benchmarks/test_instruction_budget.py``). The budget changes only in a
commit that says why. Needs Debian's ``valgrind``; about 2.5 minutes of CPU, in two processes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import adapter_bench as bench

BUDGET = Path(__file__).with_name("instruction_budget.json")
ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.05
FRAMEWORKS = ("django", "flask")
WARMUP = 50  # requests per endpoint and variant before the first counted block
ROUNDS = 2  # of one block per variant, per endpoint (the order flips: bare first, then last)
BLOCK = bench.FLUSH_AT  # requests: one full batch, sent when the block's last event is in
MARK = "getsid"  # the C function before which callgrind writes its count
CHILD_TIMEOUT = 1200  # seconds: a busy machine slows valgrind, not the count

# {framework: {endpoint: count}}, an endpoint named by the message it sends (page, track)
Figures = dict[str, dict[str, int]]


def schedule() -> list[tuple[str, str]]:
    """The counted blocks in order: (endpoint kind, variant), the order flipping every
    round."""
    blocks: list[tuple[str, str]] = []
    for endpoint in bench.ENDPOINTS:
        for number in range(ROUNDS):
            order = bench.VARIANTS if number % 2 == 0 else bench.VARIANTS[::-1]
            blocks.extend((endpoint.kind, variant) for variant in order)
    return blocks


def run_child(framework: str) -> None:
    """In this process (under callgrind): warm up, then the blocks of ``schedule()``, each
    ended by ``mark()``; then check that the stand-in API got one message per request
    with the adapter."""
    sink = bench.Sink()
    try:
        run_block, flush = _setup(framework, sink)
        for endpoint in bench.ENDPOINTS:
            for variant in bench.VARIANTS:
                run_block(variant, endpoint.path, WARMUP, [])
        flush()
        expected = dict(sink.wait(0))
        paths = {endpoint.kind: endpoint.path for endpoint in bench.ENDPOINTS}
        mark()
        for kind, variant in schedule():
            run_block(variant, paths[kind], BLOCK, [])
            flush()
            mark()
            if variant == "segment":
                expected[kind] = expected.get(kind, 0) + BLOCK
        counts = sink.wait(bench.total(expected))
        if {k: v for k, v in counts.items() if v} != {k: v for k, v in expected.items() if v}:
            sys.exit(f"{framework}: the API got {counts}, expected {expected}")
    finally:
        sink.close()


def _setup(framework: str, sink: bench.Sink) -> tuple[bench.RunBlock, Callable[[], object]]:
    if framework == "django":
        from benchmarks.django import run as django_run

        return django_run.setup(sink)
    from benchmarks.flask import run as flask_run

    return flask_run.setup(sink)


def mark() -> None:
    """The end of a counted block: the garbage it left collected (so that every block
    starts from the same heap), then ``os.getsid()``, before which callgrind dumps."""
    gc.collect()
    os.getsid(0)


def block_counts(framework: str) -> list[int]:
    """The instructions of each block of ``schedule()``, counted under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--dump-before={MARK}",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.instruction_budget",
            "--child",
            framework,
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env, cwd=ROOT
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{framework}: the child under valgrind exited {done.returncode}:\n"
                + "\n".join(done.stderr.splitlines()[-30:])
            )
        # Part 1 is start-up and warm-up, parts 2.. the blocks; shutdown is the last file.
        parts = [_totals(out.with_name(f"{out.name}.{n}")) for n in range(2, len(schedule()) + 2)]
        extra = out.with_name(f"{out.name}.{len(schedule()) + 2}")
        if extra.exists():
            raise RuntimeError(f"{framework}: more marks than blocks: {MARK}() called elsewhere")
        return parts


def _totals(part: Path) -> int:
    if not part.exists():
        raise RuntimeError(
            f"callgrind wrote no {part.name}: it did not find {MARK}() in the C library"
        )
    for line in part.read_text().splitlines():
        if line.startswith("totals: "):
            return int(line.split()[1])
    raise RuntimeError(f"no totals line in callgrind's {part.name}")


def added_per_round(counts: list[int]) -> dict[str, list[float]]:
    """{endpoint kind: per round, the adapter's block less the bare one, per request}."""
    rounds: dict[str, list[float]] = {}
    blocks = iter(zip(schedule(), counts, strict=True))
    for (kind, variant), count in blocks:  # a round is two blocks, one per variant
        (_, other_variant), other = next(blocks)
        by_variant = {variant: count, other_variant: other}
        rounds.setdefault(kind, []).append((by_variant["segment"] - by_variant["bare"]) / BLOCK)
    return rounds


def measure_rounds() -> dict[str, dict[str, list[float]]]:
    """Per framework and endpoint, the instructions added per request in each round."""
    with ThreadPoolExecutor(len(FRAMEWORKS)) as pool:  # one child per core
        counts = dict(zip(FRAMEWORKS, pool.map(block_counts, FRAMEWORKS), strict=True))
    return {framework: added_per_round(c) for framework, c in counts.items()}


def measure() -> Figures:
    """Instructions the adapter adds per request: {framework: {endpoint kind: count}},
    the mean of the rounds."""
    return mean(measure_rounds())


def mean(rounds: dict[str, dict[str, list[float]]]) -> Figures:
    return {
        framework: {kind: round(sum(r) / len(r)) for kind, r in endpoints.items()}
        for framework, endpoints in rounds.items()
    }


def over_budget(measured: Figures, budget: dict[str, Any]) -> list[str]:
    """One line per figure more than ``TOLERANCE`` over its budget, or missing from it."""
    problems = []
    allowed_figures: Figures = budget["added_per_request"]
    for framework, endpoints in measured.items():
        for kind, count in endpoints.items():
            figure = allowed_figures.get(framework, {}).get(kind)
            if figure is None:
                problems.append(f"{framework} {kind}: not in the budget")
                continue
            allowed = figure * (1 + TOLERANCE)
            if count > allowed:
                problems.append(
                    f"{framework} {kind}: {count:,} instructions added per request, over "
                    f"the budget's {allowed:,.0f} ({TOLERANCE:.0%} over {figure:,})"
                )
    return problems


def environment() -> dict[str, str]:
    """What the counts depend on besides segment_web, recorded with the budget."""
    return {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "django": version("django"),
        "flask": version("flask"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the measured budget")
    args = parser.parse_args()
    began = time.monotonic()
    rounds = measure_rounds()
    measured = mean(rounds)
    print(json.dumps(measured, indent=2))
    for framework, endpoints in rounds.items():
        for kind, figures in endpoints.items():
            print(f"{framework} {kind}, per round: " + ", ".join(f"{f:,.0f}" for f in figures))
    print(f"measured in {time.monotonic() - began:.0f} s")
    if args.update:
        budget = {**environment(), "added_per_request": measured}
        BUDGET.write_text(json.dumps(budget, indent=2) + "\n")
        print(f"wrote {BUDGET}; commit it with a message that says why")
        return
    budget = json.loads(BUDGET.read_text())
    if any(budget.get(k) != v for k, v in environment().items()):
        print(f"note: the budget was measured with {budget}, this run {environment()}")
    problems = over_budget(measured, budget)
    print("\n".join(problems) or "within the budget")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_child(sys.argv[2])
    else:
        main()
