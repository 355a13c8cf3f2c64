"""Where SegmentMiddleware's added cost goes inside real Django requests.

    .venv/bin/python -m benchmarks.django.split

The benchmark's HTML page (``benchmarks.django.run``), bare and through three
middlewares: ``AUTO_PAGE: False`` (no message at all), ``ENABLE: False`` (the page call
built and queued, nothing sent) and as shipped. Django's settings are global, so each
variant runs in a process of its own, several times, in turns; each run times blocks of
``BLOCK`` requests followed by a ``flush()`` (the delivery of the block's events is
charged to it) and reports the process's CPU (all threads) and the request thread's CPU
per request. Prints the medians added to the bare app's.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from benchmarks import adapter_bench as bench

REQUESTS = 10_000  # per run, after the warm-up
RUNS = 3  # per variant, in turns
VARIANTS = {
    "bare": None,
    "the middleware, AUTO_PAGE: False (no message at all)": {"AUTO_PAGE": False},
    "the middleware, ENABLE: False (page built and queued, nothing sent)": {"ENABLE": False},
    "the middleware as shipped": {},
}


def run_variant(options: dict[str, object] | None, path: str, requests: int) -> tuple[float, float]:
    """In this process: the app with ``options`` (None: the bare chain), warmed up, then
    ``requests`` requests to ``path`` in blocks, each followed by a ``flush()``. Returns
    the process's and the request thread's CPU seconds over the blocks."""
    from benchmarks.django import run

    sink = bench.Sink()
    try:
        run_block, flush = run.setup(sink, options)
        variant = "bare" if options is None else "segment"
        run_block(variant, path, bench.WARMUP, [])
        flush()
        cpu, own = time.process_time(), time.thread_time()
        for _ in range(requests // bench.BLOCK):
            run_block(variant, path, bench.BLOCK, [])
            flush()
        return time.process_time() - cpu, time.thread_time() - own
    finally:
        sink.close()


def child(options: dict[str, object] | None) -> None:
    cpu, own = run_variant(options, bench.ENDPOINTS[0].path, REQUESTS)
    print(json.dumps([cpu / REQUESTS * 1e6, own / REQUESTS * 1e6]))


def main() -> None:
    process: dict[str, list[float]] = {name: [] for name in VARIANTS}
    thread: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(RUNS):
        for name, options in VARIANTS.items():
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.django.split", "--child", json.dumps(options)],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            ).stdout
            cpu, own = json.loads(out.splitlines()[-1])
            process[name].append(cpu)
            thread[name].append(own)
    print(f"bare: {statistics.median(process['bare']):.1f} µs CPU per request")
    bench.print_split(thread, process)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(json.loads(sys.argv[2]))
    else:
        main()
