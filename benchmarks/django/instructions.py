"""What SegmentMiddleware adds to a Django request, counted in instructions.

    .venv/bin/python -m benchmarks.django.instructions [--path /api/cart?...]

Each variant of ``benchmarks.django.split`` (and the bare chain) runs its requests under
``valgrind --tool=callgrind`` twice (``split.run_variant``), with ``SMALL`` and ``LARGE``
requests after the same warm-up; the difference of the two totals over the difference
in requests is the instructions per request, start-up and warm-up cancelled out. Unlike
a timing, the count hardly moves when the machine is busy (thread interleaving and
garbage collection still vary it by about 2 %), so a change of a few per cent can be
seen in one run. Needs valgrind (Debian's ``valgrind`` package); takes about two
minutes.
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

from benchmarks import adapter_bench as bench
from benchmarks.django.split import VARIANTS, run_variant

SMALL, LARGE = 200, 1_200  # requests measured, in blocks of bench.BLOCK


def total_instructions(options: dict[str, object] | None, requests: int, path: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.django.instructions",
            "--child",
            json.dumps([options, path, requests]),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, check=True, capture_output=True, timeout=1800, env=env)
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        assert totals is not None, "no totals line in callgrind's output"
        return int(totals.group(1))


def per_request(options: dict[str, object] | None, path: str) -> float:
    with ThreadPoolExecutor(2) as pool:  # the two runs of a variant side by side
        small, large = pool.map(lambda n: total_instructions(options, n, path), (SMALL, LARGE))
    return (large - small) / (LARGE - SMALL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=bench.ENDPOINTS[0].path)
    args = parser.parse_args()
    bare = per_request(None, args.path)
    print(f"{args.path}: the bare request {bare:,.0f} instructions")
    print("| variant | instructions added per request |\n|---|---:|")
    for name, options in VARIANTS.items():
        if options is not None:
            print(f"| {name} | {per_request(options, args.path) - bare:,.0f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_variant(*json.loads(sys.argv[2]))
    else:
        main()
