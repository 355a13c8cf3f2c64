"""What an adapter adds to a request, as the user's server feels it: the shared method of
``benchmarks/django``, ``benchmarks/flask`` and ``benchmarks/asgi``.

Each framework module gives two variants of one app — ``bare`` (no segment_web) and
``segment`` (the adapter, product defaults except ``flush_at=100``, delivering to a local
stand-in of the tracking API in its own process) — and a function that runs a block of
requests through one of them, timing each request. Two endpoints:

- ``/`` an HTML page: the adapter sends its automatic ``page`` call;
- ``/api/cart`` a JSON endpoint whose view calls the request handle's ``track()`` once,
  with properties built fresh for the call (the core benchmark's realistic event).

Every request comes from a returning browser: the ``ajs_anonymous_id`` cookie, a
``X-Forwarded-For`` from the trusted peer 127.0.0.1, a browser's User-Agent,
Accept-Language and Referer, and utm parameters in the URL.

Per round, for each endpoint, one block of each variant (the order flips every round).
A block's figures:

- wall: the median of its requests' times (perf_counter); added wall = the median over
  the rounds of (segment block median - bare block median);
- all-thread CPU per request: the process's CPU time (every thread: the request, the
  delivery thread's encoding, gzip and HTTP) from the block's start until the local
  server has every event of the block, divided by the requests; added the same way;
- request-thread CPU per request (thread_time around the block), for comparison.

After each block the run waits, untimed for wall, until the server has every event of
the block (one long-poll request), so no block hands its backlog to the next; the CPU
clock keeps running through that wait, which is how the delivery of the block's events
is charged to it. A block is ``2 * flush_at`` requests: it ends with nothing pending.
Checks: the server received exactly one message of the endpoint's type per segment
request, none for a bare one, and no duplicate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FLUSH_AT = 100
BLOCK = 2 * FLUSH_AT
ROUNDS = 25
WARMUP = 300
VARIANTS = ("bare", "segment")
TARGET_US = 50.0

ANONYMOUS_ID = "3f6c1e0a-5b5e-4a8e-9d55-1d0a3b7c2e11"
BROWSER_HEADERS = {
    "Cookie": f"ajs_anonymous_id=%22{ANONYMOUS_ID}%22; _ga=GA1.1.1234567890.1700000000",
    "X-Forwarded-For": "203.0.113.7",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9,de;q=0.8",
    "Referer": "https://www.google.com/",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale"
PAGE_HTML = "<!doctype html><title>Home</title><h1>Welcome</h1>" + "<p>lorem ipsum</p>" * 50


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str  # with its query string
    kind: str  # the type of the one message a segment request sends


ENDPOINTS = (
    Endpoint("HTML page (auto page call)", f"/?{UTM}", "page"),
    Endpoint("JSON endpoint (one handle.track())", f"/api/cart?{UTM}", "track"),
)

# run_block(variant, path, n, walls): n requests, each request's wall time appended (ns)
RunBlock = Callable[[str, str, int, list[int]], None]


@dataclass
class Series:
    walls: list[int] = field(default_factory=list)  # every request, ns
    block_wall: list[float] = field(default_factory=list)  # per block: median, µs
    block_cpu: list[float] = field(default_factory=list)  # per block: all threads, µs/request
    block_thread: list[float] = field(default_factory=list)  # per block: request thread


class Sink:
    """The stand-in tracking API, in a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sink"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"
        self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def wait(self, total: int) -> dict[str, int]:
        """The counts by type, once ``total`` messages arrived (or the sink gave up)."""
        self._connection.request("GET", f"/wait?total={total}")
        counts: dict[str, int] = json.loads(self._connection.getresponse().read())
        return counts

    def close(self) -> None:
        self._connection.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def total(counts: dict[str, int]) -> int:
    return sum(count for kind, count in counts.items() if kind != "duplicate")


def measure(
    run_block: RunBlock, sink: Sink, flush: Callable[[], object], rounds: int = ROUNDS
) -> tuple[dict[tuple[str, str], Series], list[str]]:
    """Warm up, then the interleaved rounds; returns the series and failed checks."""
    failures: list[str] = []
    for endpoint in ENDPOINTS:
        for variant in VARIANTS:
            run_block(variant, endpoint.path, WARMUP, [])
    flush()  # the warm-up's partial batch: the first block starts with nothing pending
    counts = sink.wait(0)
    expected = dict(counts)
    series = {(e.label, v): Series() for e in ENDPOINTS for v in VARIANTS}
    for round_number in range(rounds):
        order = VARIANTS if round_number % 2 == 0 else VARIANTS[::-1]
        for endpoint in ENDPOINTS:
            for variant in order:
                walls: list[int] = []
                cpu_start, thread_start = time.process_time(), time.thread_time()
                run_block(variant, endpoint.path, BLOCK, walls)
                thread_cpu = time.thread_time() - thread_start
                if variant == "segment":
                    expected[endpoint.kind] = expected.get(endpoint.kind, 0) + BLOCK
                counts = sink.wait(total(expected))
                cpu = time.process_time() - cpu_start
                if {k: v for k, v in counts.items() if v} != {
                    k: v for k, v in expected.items() if v
                }:
                    failures.append(
                        f"round {round_number}, {endpoint.label}, {variant}: "
                        f"server has {counts}, expected {expected}"
                    )
                    expected = dict(counts)
                one = series[endpoint.label, variant]
                one.walls.extend(walls)
                one.block_wall.append(statistics.median(walls) / 1000)
                one.block_cpu.append(cpu / BLOCK * 1e6)
                one.block_thread.append(thread_cpu / BLOCK * 1e6)
    return series, failures


def _p99(walls: list[int]) -> float:
    ordered = sorted(walls)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1000


def _added(bare: list[float], segment: list[float]) -> float:
    return statistics.median(s - b for b, s in zip(bare, segment, strict=True))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(
    title: str,
    versions: str,
    method: str,
    series: dict[tuple[str, str], Series],
    failures: list[str],
    seconds: float,
    rounds: int = ROUNDS,
) -> tuple[str, list[tuple[str, bool]]]:
    """The markdown table and the verdicts (target: under 50 µs added, wall and CPU)."""
    verdicts: list[tuple[str, bool]] = []
    rows = [
        "| endpoint | bare wall µs | added wall µs | added CPU µs, all threads "
        "| added CPU µs, request thread | bare p99 µs | with p99 µs | target < 50 µs |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for endpoint in ENDPOINTS:
        bare, segment = series[endpoint.label, "bare"], series[endpoint.label, "segment"]
        wall = _added(bare.block_wall, segment.block_wall)
        cpu = _added(bare.block_cpu, segment.block_cpu)
        thread = _added(bare.block_thread, segment.block_thread)
        met = wall < TARGET_US and cpu < TARGET_US
        verdicts.append((f"{title}: {endpoint.label} < {TARGET_US:g} µs (wall and CPU)", met))
        rows.append(
            f"| {endpoint.label} | {statistics.median(bare.block_wall):.1f} "
            f"| **{wall:+.1f}** | **{cpu:+.1f}** | {thread:+.1f} | {_p99(bare.walls):.1f} "
            f"| {_p99(segment.walls):.1f} | {'met' if met else '**not met**'} |"
        )
    checks = (
        "all passed: the server got exactly one message of the endpoint's type per "
        "segment request, none for a bare request, no duplicate"
        if not failures
        else "**FAILED**: " + "; ".join(failures[:5])
    )
    verdicts.append((f"{title}: delivery checks", not failures))
    lines = [
        f"# {title}",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; run time {seconds:.0f} s; "
        f"load average at the end {os.getloadavg()[0]:.2f}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- versions: {versions}",
        f"- method: {method}; {rounds} interleaved rounds x {BLOCK} requests per endpoint and "
        f"variant (after {WARMUP} warm-up requests each); the adapter with product defaults "
        f"except flush_at={FLUSH_AT} (gzip on), delivering to a local server in its own "
        "process, waited for after every block (see benchmarks/adapter_bench.py)",
        f"- checks: {checks}",
        "",
        *rows,
        "",
        "Added = median over the rounds of (with segment_web - bare) of the block figures: "
        "wall = the block's median request; CPU, all threads = the process's CPU from the "
        "block's start until the server had the block's events, per request (the delivery "
        "of those events included); request thread = that thread's CPU alone.",
    ]
    return "\n".join(lines) + "\n", verdicts


def write(path: Path, text: str, verdicts: list[tuple[str, bool]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(text)
    for name, ok in verdicts:
        print(f"{'MET   ' if ok else 'MISSED'} {name}")


def sync_run_block(gets: dict[str, Callable[[str], Any]]) -> RunBlock:
    """A ``RunBlock`` for a test client: ``gets[variant](path)`` returns a response with a
    ``status_code``."""

    def run_block(variant: str, path: str, n: int, walls: list[int]) -> None:
        get, clock, record = gets[variant], time.perf_counter_ns, walls.append
        for _ in range(n):
            start = clock()
            response = get(path)
            record(clock() - start)
            if response.status_code != 200:
                raise RuntimeError(f"{variant} {path}: HTTP {response.status_code}")

    return run_block


@dataclass(frozen=True)
class Subject:
    """One framework's benchmark: what the report says about it, where it goes."""

    title: str
    versions: str
    method: str
    results: Path


# setup(sink) -> (run_block, flush of the segment variant's client)
Setup = Callable[[Sink], tuple[RunBlock, Callable[[], object]]]


def main(subject: Subject, setup: Setup, argv: list[str] | None = None) -> None:
    """Parse the command line, measure, write the report (``--rounds``, ``--out``)."""
    parser = argparse.ArgumentParser(description=subject.title)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--out", type=Path, default=subject.results)
    args = parser.parse_args(argv)
    began = time.monotonic()
    sink = Sink()
    try:
        run_block, flush = setup(sink)
        series, failures = measure(run_block, sink, flush, args.rounds)
    finally:
        sink.close()
    text, verdicts = report(
        subject.title,
        subject.versions,
        subject.method,
        series,
        failures,
        time.monotonic() - began,
        args.rounds,
    )
    write(args.out, text, verdicts)


def print_split(thread: dict[str, list[float]], process: dict[str, list[float]]) -> None:
    """The split benchmarks' table: per variant, its median CPU per request (request
    thread, all threads) added to the bare app's (the variant named ``bare``)."""
    base_thread, base_process = (statistics.median(x["bare"]) for x in (thread, process))
    print("| variant | request-thread CPU µs | all-thread CPU µs |")
    print("|---|---:|---:|")
    for name in thread:
        if name != "bare":
            added_thread = statistics.median(thread[name]) - base_thread
            added_process = statistics.median(process[name]) - base_process
            print(f"| {name} | {added_thread:+.1f} | {added_process:+.1f} |")


def cart_properties() -> dict[str, Any]:
    """What the JSON endpoint tracks: the core benchmark's realistic event, made fresh."""
    from benchmarks.core.scenarios import event_properties

    return event_properties()
