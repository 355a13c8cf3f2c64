"""``make stress``: run timing-sensitive tests repeatedly on a machine kept busy.

A flaky test is a failing test, and timing bugs show when the machine is loaded: this
starts one CPU hog process per core, then runs the given test paths ``--count`` times
each (pytest-repeat) on two pytest-xdist workers, all bounded by ``--budget`` seconds.
It exits with pytest's status (or 1 when the budget ran out), so any failure fails it.

    python -m tests.support.stress                      # DEFAULT_PATHS, 5 times each
    python -m tests.support.stress tests/asgi --count 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

DEFAULT_PATHS = [
    "tests/core",  # test_in_flight among them: several batches in flight, 429, blocking
    "tests/shared",
    "tests/spool/test_store.py",
    "tests/spool/test_durability.py::"
    "test_a_process_killed_while_delivering_resends_at_most_its_batches_in_flight",
]


def _hog(stop_at: float) -> None:
    """Burn one core until ``stop_at`` (a bounded busy loop, checked every ~100k steps)."""
    total = 0
    while time.monotonic() < stop_at:
        for n in range(100_000):
            total += n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make stress", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS, help="test paths")
    parser.add_argument("--count", type=int, default=5, help="runs of each test [5]")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers [2]")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy processes")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds in all [900]")
    args = parser.parse_args(argv)

    stop_at = time.monotonic() + args.budget
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_hog, args=(stop_at,), daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "xdist",
        "-n",
        str(args.workers),
        "--count",
        str(args.count),
        *args.paths,
    ]
    print(f"stress: {args.hogs} CPU hog(s); {' '.join(command[1:])}", flush=True)
    try:
        return subprocess.run(command, timeout=args.budget).returncode
    except subprocess.TimeoutExpired:
        print(f"stress: not finished within {args.budget:.0f}s", file=sys.stderr)
        return 1
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
