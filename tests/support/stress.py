"""``make stress``: run timing-sensitive tests repeatedly on a machine kept busy.

A flaky test is a failing test, and timing bugs show when the machine is loaded: this
starts one CPU hog process per core, then runs the given test paths ``--count`` times
each (pytest-repeat) on two pytest-xdist workers, all bounded by ``--budget`` seconds.
By default it also runs the tests that fork and those of real servers (uWSGI, gunicorn,
multiprocessing, Celery, RQ) ``--process-count`` times: a race between a fork and a
thread, or a server's stop and the exit flush, shows there and nowhere else.

Each ``--python`` (a venv's interpreter with the dev extra installed; repeat the option)
runs all of it in turn, so that ``make stress`` covers the oldest supported Python as
well as the default one. It exits with the first failing pytest status (or 1 when the
budget ran out), so any failure fails it.

    python -m tests.support.stress                      # DEFAULT_PATHS, this Python
    python -m tests.support.stress tests/asgi --count 3
    python -m tests.support.stress --python .venv/bin/python --python .venv310/bin/python
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

DEFAULT_PATHS = [
    "tests/core",
    "tests/delivery",  # test_in_flight among them: several batches in flight, 429, blocking
    "tests/wire",
    "tests/process",  # forks (Python's hooks and libc's), exit flushes
    "tests/store",
    "tests/web",
    "tests/spool/test_store.py",
    "tests/spool/test_durability.py::"
    "test_a_process_killed_while_delivering_resends_at_most_its_batches_in_flight",
]
# Forked children and real servers: fewer runs, each starts processes.
PROCESS_PATHS = ["tests/process_models", "tests/spool/test_client.py"]


def _hog(stop_at: float) -> None:
    """Burn one core until ``stop_at`` (a bounded busy loop, checked every ~100k steps)."""
    total = 0
    while time.monotonic() < stop_at:
        for n in range(100_000):
            total += n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make stress", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="test paths [the timing and process tests]")
    parser.add_argument("--count", type=int, default=5, help="runs of each test [5]")
    parser.add_argument(
        "--process-count", type=int, default=2, help="runs of each fork and server test [2]"
    )
    parser.add_argument(
        "--python",
        action="append",
        dest="pythons",
        help="interpreter to run the tests with; repeat for several [this one]",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers [2]")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy processes")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds in all [1800]")
    args = parser.parse_args(argv)
    runs = [(args.paths, args.count)]
    if not args.paths:
        runs = [(DEFAULT_PATHS, args.count), (PROCESS_PATHS, args.process_count)]

    stop_at = time.monotonic() + args.budget
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_hog, args=(stop_at,), daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    print(f"stress: {args.hogs} CPU hog(s)", flush=True)
    try:
        for python in args.pythons or [sys.executable]:
            for paths, count in runs:
                command = [python, "-m", "pytest", "-q", "-p", "xdist", "-n", str(args.workers)]
                command += ["--count", str(count), *paths]
                print(f"stress: {' '.join(command)}", flush=True)
                left = stop_at - time.monotonic()
                code = subprocess.run(command, timeout=max(left, 1.0)).returncode
                if code != 0:
                    return code
        return 0
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
