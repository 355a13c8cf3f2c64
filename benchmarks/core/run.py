"""Core benchmark: segment_web against segment-analytics-python, side by side.

    .venv/bin/python -m benchmarks.core.run [--reps N] [--quick] [--out PATH]

The orchestrator (this process) starts the local server (``server.py``), measures its
capacity, then runs each scenario once per library and repetition, every client in a
fresh process of its own (``scenarios.py``), one at a time (the machine may have only 2
cores). Both libraries batch alike: 100 messages per batch, 0.5 s interval, no gzip;
everything else is each library's default.

Scenarios: burst + end to end (100,000 ``track()`` calls, then ``flush()``), outage (the
server answers 503 for 10 s while 200,000 calls are made, default queue bounds),
shutdown (10,000 calls, then ``shutdown()``) and the ceiling (one thread that only
json-encodes prebuilt batches and POSTs them with one ``requests.Session``).

segment_web also runs every scenario with a ``spool_dir`` (durable delivery, in a fresh
temporary directory removed after each run); a second table compares it with itself
without one.

A full run writes the markdown table to ``benchmarks/results/core.md`` and prints it;
``--quick`` runs a scaled-down smoke check (< 60 s) and only prints, unless ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "core.md"
LIBS = ("segment_web", "analytics-python")
# segment_web again in the burst, each with one thing changed: no orjson, a do-nothing
# before_send hook, a tracking plan that describes the event.
VARIANTS = ("stdlib json", "before_send", "plan")
SPOOL = "segment_web+spool"  # segment_web with a spool_dir (durable delivery)


@dataclass(frozen=True)
class Plan:
    reps: int = 3
    burst_n: int = 100_000
    outage_n: int = 200_000
    outage_s: float = 10.0
    shutdown_n: int = 10_000
    ceiling_n: int = 100_000
    probe_s: float = 2.0
    wait_timeout: float = 120.0  # the most any one wait for delivery may take
    event: str = "realistic"  # or "reused": one properties dict, no timestamp (the old way)


QUICK = Plan(
    reps=1,
    burst_n=20_000,
    outage_n=40_000,
    outage_s=3.0,
    shutdown_n=2_000,
    ceiling_n=20_000,
    probe_s=1.0,
    wait_timeout=30.0,
)


EVENT_TEXT = {
    "realistic": "realistic: properties (10, among them a float, a bool, None, a list, a "
    "nested dict and a datetime) and `timestamp=datetime` made fresh for every call, as "
    "an app does",
    "reused": "one properties dict (the same 10) reused for every call, no `timestamp` "
    "(the flattering old way)",
}


class BenchError(RuntimeError):
    pass


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- child processes ------------------------------------------------------------------

_children: list[subprocess.Popen[bytes]] = []


class Child:
    """A subprocess spoken to in lines: commands on stdin, JSON events on stdout."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        _children.append(self.proc)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def line(self, timeout: float) -> bytes:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"{self.name}: nothing within {timeout:.0f}s") from None
        if line is None:
            self.proc.wait(5)
            raise BenchError(
                f"{self.name} exited ({self.proc.returncode}); stderr:\n{self.stderr_tail()}"
            )
        return line

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message: dict[str, Any] = json.loads(self.line(max(0.01, deadline - time.monotonic())))
            if message.get("event") == "error":
                raise BenchError(f"{self.name}: {message.get('message')}")
            if message.get("event") == event:
                return message

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def stderr_tail(self, size: int = 2000) -> str:
        self.stderr.seek(0, os.SEEK_END)
        end = self.stderr.tell()
        self.stderr.seek(max(0, end - size))
        return self.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc in _children:
            _children.remove(self.proc)
        self.stderr.close()


@contextmanager
def child(name: str, args: list[str]) -> Iterator[Child]:
    process = Child(name, args)
    try:
        yield process
    finally:
        if process.proc.poll() is None and sys.exc_info()[0] is not None:
            process.proc.kill()
        process.close()


def kill_children() -> None:
    for proc in list(_children):
        if proc.poll() is None:
            proc.kill()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


# -- the server -----------------------------------------------------------------------


class Server:
    def __init__(self, count_mode: str) -> None:
        self.count_mode = count_mode
        self.child = Child("server", ["-m", "benchmarks.core.server", "--count", count_mode])
        first = self.child.line(20).decode().split()
        if len(first) != 2 or first[0] != "PORT":
            raise BenchError(f"server said {first!r}")
        self.port = int(first[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            data: dict[str, Any] = json.loads(response.read())
        finally:
            connection.close()
        return data

    def reset(self, expect: int = 0) -> None:
        self.control(f"/control/reset?expect={expect}")

    def stats(self) -> dict[str, Any]:
        return self.control("/control/stats")

    def wait(self, done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if done(stats) or time.monotonic() >= deadline:
                return stats
            time.sleep(0.01)

    def probe(self, seconds: float) -> dict[str, Any]:
        args = ["-m", "benchmarks.core.server", "--probe", str(self.port)]
        with child("probe", [*args, "--seconds", str(seconds)]) as probe:
            result: dict[str, Any] = json.loads(probe.line(seconds + 60))
        self.reset()
        return result

    def close(self) -> None:
        self.child.proc.terminate()
        self.child.close()


# -- other load on the machine --------------------------------------------------------

_HZ = os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds all processes used so far (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _HZ


def _own_cpu_s(live_pids: list[int]) -> float:
    """CPU seconds of this process tree: self, waited-for children, live children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for pid in live_pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _HZ
        except (OSError, IndexError, ValueError):
            pass
    return total


class LoadMeter:
    """CPU used by processes outside this benchmark while it runs, in cores."""

    def __init__(self, live_pids: list[int]) -> None:
        self.live_pids = live_pids
        self.start = time.monotonic()
        self.busy = _machine_busy_s()
        self.own = _own_cpu_s(live_pids)

    def cores(self) -> float:
        wall = time.monotonic() - self.start
        busy = _machine_busy_s() - self.busy
        own = _own_cpu_s(self.live_pids) - self.own
        return max(0.0, busy - own) / wall if wall > 0 else 0.0


def wait_quiet(live_pids: list[int], limit_s: float, threshold: float = 0.25) -> float:
    """Wait (at most ``limit_s``) until other processes use under ``threshold`` cores."""
    deadline = time.monotonic() + limit_s
    while True:
        meter = LoadMeter(live_pids)
        time.sleep(0.5)
        load = meter.cores()
        if load < threshold or time.monotonic() >= deadline:
            return load


# -- scenarios ------------------------------------------------------------------------


_spool_dirs: list[str] = []


def client_args(lib: str, scenario: str, url: str, n: int, **extra: Any) -> list[str]:
    config = {"lib": lib, "scenario": scenario, "url": url, "n": n, **extra}
    config.setdefault("event", "realistic")
    if lib == SPOOL:
        config["spool_dir"] = tempfile.mkdtemp(prefix="segment-web-spool-")
        _spool_dirs.append(config["spool_dir"])
    return ["-m", "benchmarks.core.scenarios", json.dumps(config)]


def remove_spool_dirs() -> None:
    while _spool_dirs:
        shutil.rmtree(_spool_dirs.pop(), ignore_errors=True)


def run_burst(server: Server, lib: str, plan: Plan, variant: str = "") -> dict[str, Any]:
    n = plan.burst_n
    server.reset(expect=n)
    args = client_args(
        lib,
        "burst",
        server.url,
        n,
        max_queue_size=n + 1000,
        wait_timeout=plan.wait_timeout,
        variant=variant,
        event=plan.event,
    )
    with child(f"{lib} {variant} burst", args) as client:
        ready = client.expect("ready", 60)
        client.send("go")
        client.expect("calls_done", plan.wait_timeout + 180)
        stats = server.wait(lambda s: s["reached"] is not None, plan.wait_timeout)
        client.send("stop")
        result = client.expect("result", plan.wait_timeout + 30)
    if stats["reached"] is None:
        raise BenchError(f"{lib}: server got {stats['unique']} of {n} messages")
    e2e = stats["reached"] - result["first"]
    latency = result["latency"]
    return {
        "version": ready["version"],
        "json_backend": ready["json_backend"],
        "calls_per_s": n / result["calls_s"],
        "p50_us": latency["p50_us"],
        "p99_us": latency["p99_us"],
        "max_ms": latency["max_ms"],
        "over_10ms": latency["over_10ms"],
        "over_20ms": latency["over_20ms"],
        "e2e_s": e2e,
        "e2e_events_per_s": n / e2e,
        "cpu_us_per_event": result["cpu_s"] / n * 1e6,
        "cpu_calls_us": result["cpu_calls_s"] / n * 1e6,
        "caller_cpu_us": result["caller_cpu_s"] / n * 1e6,
        "peak_rss_mb": result["peak_rss_kb"] / 1024,
        "rss_growth_mb": (result["peak_rss_kb"] - result["baseline_rss_kb"]) / 1024,
        "duplicates": stats["messages"] - stats["unique"],
    }


def run_outage(server: Server, lib: str, plan: Plan) -> dict[str, Any]:
    n = plan.outage_n
    server.reset()
    args = client_args(
        lib, "outage", server.url, n, wait_timeout=plan.wait_timeout, event=plan.event
    )
    with child(f"{lib} outage", args) as client:
        ready = client.expect("ready", 60)
        recover_at = server.control(f"/control/outage?seconds={plan.outage_s}")["recover_at"]
        client.send("go")
        result = client.expect("result", 2 * plan.wait_timeout + 180)
    stats = server.stats()
    kept = stats["unique"]
    failed = result["failed_reported"]
    lost = n - kept - failed  # never delivered and not a batch that finally failed
    # analytics-python's report of a drop: track() returns (False, msg) and logs a warning
    dropped = result["refused"] if lib == "analytics-python" else result["dropped_reported"]
    flush = result["flush"]
    recovery = None
    if flush["finished"] and stats["last_ok"] is not None:
        recovery = max(0.0, stats["last_ok"] - recover_at)
    return {
        "queue_bound": ready["queue_bound"],
        "sent": n,
        "kept": kept,
        "dropped": dropped,
        "unreported": max(0, lost - dropped),
        "unaccounted": n - kept - dropped - failed,
        "failed": failed,
        "queue_full_logged": result.get("queue_full_logged"),
        "duplicates": stats["messages"] - stats["unique"],
        "rejected_posts": stats["rejected_batches"],
        "outage_calls_s": result["calls_s"],
        "outage_p50_us": result["latency"]["p50_us"],
        "outage_max_ms": result["latency"]["max_ms"],
        "outage_rss_growth_mb": (result["peak_rss_kb"] - result["baseline_rss_kb"]) / 1024,
        "recovery_s": recovery,
        "drain_s": None if stats["first_ok"] is None else stats["last_ok"] - stats["first_ok"],
        "version": ready["version"],
    }


def run_shutdown(server: Server, lib: str, plan: Plan) -> dict[str, Any]:
    n = plan.shutdown_n
    server.reset(expect=n)
    args = client_args(
        lib, "shutdown", server.url, n, max_queue_size=n + 1000, wait_timeout=plan.wait_timeout
    )
    with child(f"{lib} shutdown", args) as client:
        ready = client.expect("ready", 60)
        client.send("go")
        result = client.expect("result", 2 * plan.wait_timeout + 60)
    stats = server.stats()
    outcome = result["shutdown"]
    return {
        "shutdown_s": outcome["seconds"] if outcome["finished"] else None,
        "shutdown_delivered": stats["unique"],
        "shutdown_all": stats["unique"] == n and outcome["finished"] and not outcome["error"],
        "version": ready["version"],
    }


def run_ceiling(server: Server, plan: Plan) -> dict[str, Any]:
    n = plan.ceiling_n
    server.reset(expect=n)
    with child("ceiling", client_args("ceiling", "ceiling", server.url, n)) as client:
        client.expect("ready", 60)
        client.send("go")
        result = client.expect("result", plan.wait_timeout + 60)
    stats = server.stats()
    if stats["unique"] != n:
        raise BenchError(f"ceiling: server got {stats['unique']} of {n}")
    return {
        "ceiling_events_per_s": n / result["calls_s"],
        "ceiling_cpu_us_per_event": result["cpu_s"] / n * 1e6,
    }


def run_noise(server: Server, n: int) -> dict[str, Any]:
    with child("noise", client_args("noise", "noise", server.url, n)) as probe:
        probe.expect("ready", 60)
        probe.send("go")
        result = probe.expect("result", 300)
    latency: dict[str, Any] = result["latency"]
    return latency


# -- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    fmt: str
    target: str = ""
    # ratio segment_web / analytics-python of the medians -> met?
    check: Callable[[float], bool] | None = None
    ratio: bool = True


SECTIONS: list[tuple[str, list[Row]]] = [
    (
        "burst (track() calls)",
        [
            Row("calls_per_s", "calls/s", "{:,.0f}"),
            Row("p50_us", "per call p50 µs", "{:.1f}", "≤ 1/2", lambda r: r <= 0.5),
            Row("p99_us", "per call p99 µs", "{:.1f}"),
            Row("max_ms", "per call max ms", "{:.1f}"),
            Row("over_10ms", "calls over 10 ms", "{:.0f}", ratio=False),
            Row("over_20ms", "calls over 20 ms", "{:.0f}", "none (sw)", ratio=False),
            Row("burst_load", "other load during the run, cores", "{:.2f}", ratio=False),
        ],
    ),
    (
        "end to end (first call → server has all; flush() after the last call)",
        [
            Row("e2e_events_per_s", "events/s", "{:,.0f}", "≥ 3x", lambda r: r >= 3),
            Row("pct_ceiling", "% of ceiling", "{:.0f}%"),
            Row("cpu_us_per_event", "client CPU µs/event", "{:.1f}", "≤ 1/4", lambda r: r <= 1 / 4),
            Row("cpu_calls_us", "…of which during the calls", "{:.1f}"),
            Row("caller_cpu_us", "…of which the calling thread", "{:.1f}"),
            Row("peak_rss_mb", "peak RSS MB", "{:.1f}"),
            Row("rss_growth_mb", "RSS growth in burst MB", "{:.1f}", "≤ 1/3", lambda r: r <= 1 / 3),
        ],
    ),
    (
        "outage (503 for the outage, default queue bound)",
        [
            Row("queue_bound", "queue bound", "{:,.0f}", ratio=False),
            Row("sent", "sent", "{:,.0f}", ratio=False),
            Row("kept", "kept (delivered)", "{:,.0f}", ratio=False),
            Row("dropped", "dropped, reported", "{:,.0f}", ratio=False),
            Row("failed", "failed batches' messages, reported", "{:,.0f}", ratio=False),
            Row("unreported", "dropped, not reported", "{:,.0f}", "0 (sw)", ratio=False),
            Row("unaccounted", "sent - kept - dropped - failed", "{:,.0f}", "0 (sw)", ratio=False),
            Row("duplicates", "duplicates at server", "{:,.0f}", ratio=False),
            Row("rejected_posts", "POSTs answered 503", "{:,.0f}", ratio=False),
            Row("outage_calls_s", "seconds spent in the calls", "{:.2f}", ratio=False),
            Row("outage_p50_us", "per call p50 µs", "{:.1f}"),
            Row("outage_max_ms", "per call max ms", "{:.1f}"),
            Row("outage_rss_growth_mb", "RSS growth MB", "{:.1f}"),
            Row("recovery_s", "s to recover", "{:.2f}", "≤ 10 s (sw)", ratio=False),
            Row("drain_s", "…of which draining the backlog", "{:.2f}", ratio=False),
            Row("outage_load", "other load during the run, cores", "{:.2f}", ratio=False),
        ],
    ),
    (
        "shutdown (calls, then shutdown())",
        [
            Row("shutdown_s", "shutdown() s", "{:.3f}"),
            Row("shutdown_delivered", "delivered at server", "{:,.0f}", ratio=False),
            Row("shutdown_load", "other load during the run, cores", "{:.2f}", ratio=False),
        ],
    ),
]


def _median(values: list[Any]) -> float | None:
    numbers = [v for v in values if v is not None]
    return statistics.median(numbers) if numbers else None


def _fmt(fmt: str, value: float | None) -> str:
    return "—" if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def render(
    plan: Plan,
    runs: dict[str, list[dict[str, Any]]],
    ceiling: list[dict[str, Any]],
    meta: dict[str, Any],
) -> tuple[str, list[tuple[str, bool]]]:
    sw, ap = runs["segment_web"], runs["analytics-python"]
    for lib in (*LIBS, SPOOL):
        for run, best in zip(runs[lib], ceiling, strict=False):
            if "e2e_events_per_s" in run:
                run["pct_ceiling"] = 100 * run["e2e_events_per_s"] / best["ceiling_events_per_s"]
    capacity, noise = meta["capacity"], meta["noise"]
    verdicts: list[tuple[str, bool]] = []
    lines = [
        "# Core benchmark (loopback): segment_web vs segment-analytics-python",
        "",
        f"- date: {meta['date']}; total run time {meta['elapsed_s']:.0f} s",
        f"- machine: {meta['nproc']} CPUs ({meta['cpu']}), {meta['system']}, "
        f"Python {meta['python']}",
        f"- event: {EVENT_TEXT[plan.event]}",
        f"- libraries: segment_web {meta.get('segment_web', '?')} (tree {meta['tree']}; "
        f"JSON backend {meta.get('segment_web json', '?')}), "
        f"segment-analytics-python {meta.get('analytics-python', '?')}, "
        f"requests {meta['requests']}",
        f"- server: asyncio HTTP/1.1 keep-alive on 127.0.0.1, counting unique messageIds "
        f"({meta['count_mode']}); capacity {capacity['batches_per_s']:,.0f} batches/s"
        f" = {capacity['messages_per_s']:,.0f} messages/s (100-message bodies of "
        f"{capacity['body_bytes'] / 1000:.0f} KB, one keep-alive connection, "
        "raw-socket client: a lower bound)",
        f"- ceiling (one thread json-encoding prebuilt 100-message batches and POSTing them "
        f"with one requests.Session): "
        f"{_fmt('{:,.0f}', _median([c['ceiling_events_per_s'] for c in ceiling]))} events/s, "
        f"{_fmt('{:.1f}', _median([c['ceiling_cpu_us_per_event'] for c in ceiling]))} "
        "CPU µs/event (medians)",
        f"- machine noise: a plain single-threaded loop of {plan.burst_n:,} small json "
        f"encodes (no library, no I/O) had {noise['over_10ms']} iterations over 10 ms, "
        f"{noise['over_20ms']} over 20 ms, max {noise['max_ms']:.1f} ms; other processes "
        f"used {noise['noise_load']:.2f} cores meanwhile. Before each client run the "
        f"benchmark waited up to {meta['quiet_wait']:g} s for other load under 0.25 cores",
        f"- plan: {plan.reps} repetition(s); burst {plan.burst_n:,} calls; outage "
        f"{plan.outage_n:,} calls with 503 for {plan.outage_s:g} s; shutdown "
        f"{plan.shutdown_n:,} calls; each client in a fresh process, one at a time; both "
        "libraries batch 100 messages / 0.5 s, no gzip, other options default",
        "",
        "Values are medians over the repetitions; ratio = segment_web / analytics-python "
        "(per repetition, then their median). sw = segment_web.",
        "",
        "| metric | segment_web | analytics-python | ratio (median) | ratio per rep "
        "| target | met |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for title, rows in SECTIONS:
        lines.append(f"| **{title}** | | | | | | |")
        for row in rows:
            line, ok = table_row(row, sw, ap)
            lines.append(line)
            if ok is not None:
                verdicts.append((f"{title.split(' (')[0]}: {row.label} {row.target}", ok))
    lines += ["", *render_spool(runs[SPOOL], sw, verdicts), "", *meta.get("notes", [])]
    return "\n".join(lines) + "\n", verdicts


def render_variants(
    runs: dict[str, list[dict[str, Any]]], variants: dict[str, list[dict[str, Any]]]
) -> str:
    """segment_web with one thing changed, against plain segment_web and analytics-python."""
    plain, ap = runs["segment_web"], runs["analytics-python"]
    lines = [
        "",
        "### segment_web variants (the burst above, one thing changed)",
        "",
        "Same event, same server, each in a fresh process right after the main pair in "
        "every repetition. Added = variant minus plain segment_web (medians of the "
        "per-repetition differences).",
        "",
        "| variant | events/s | vs analytics-python | CPU µs/event | vs analytics-python "
        "| added CPU µs/event | p50 µs | added p50 µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [("segment_web (as above)", plain)] + [
        (f"segment_web, {name}", results) for name, results in variants.items()
    ]
    for label, results in rows:
        pairs = list(zip(results, plain, ap, strict=False))
        e2e, cpu, p50 = "e2e_events_per_s", "cpu_us_per_event", "p50_us"
        cells = [
            ("{:,.0f}", [r[e2e] for r, _, _ in pairs]),
            ("{:.2f}x", [r[e2e] / a[e2e] for r, _, a in pairs]),
            ("{:.1f}", [r[cpu] for r, _, _ in pairs]),
            ("{:.2f}", [r[cpu] / a[cpu] for r, _, a in pairs]),
            ("{:+.1f}", [r[cpu] - p[cpu] for r, p, _ in pairs]),
            ("{:.1f}", [r[p50] for r, _, _ in pairs]),
            ("{:+.1f}", [r[p50] - p[p50] for r, p, _ in pairs]),
        ]
        lines.append(
            f"| {label} | " + " | ".join(_fmt(fmt, _median(values)) for fmt, values in cells) + " |"
        )
    return "\n".join(lines) + "\n"


def table_row(
    row: Row, mine: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> tuple[str, bool | None]:
    """One table line comparing ``mine`` with ``theirs``, and whether its target is met
    (None: no target). Absolute targets are checked on ``mine``."""
    a = _median([r.get(row.key) for r in mine])
    b = _median([r.get(row.key) for r in theirs])
    ratios = [_ratio(x.get(row.key), y.get(row.key)) for x, y in zip(mine, theirs, strict=True)]
    median_ratio = _median(ratios) if row.ratio else None
    per_rep = " / ".join(_fmt("{:.2f}", r) for r in ratios) if row.ratio else ""
    ok: bool | None = None
    if row.check is not None:
        ok = median_ratio is not None and row.check(median_ratio)
    elif row.target:
        ok = _target_ok(row.key, mine)
    met = "" if ok is None else ("yes" if ok else "**no**")
    line = (
        f"| {row.label} | {_fmt(row.fmt, a)} | {_fmt(row.fmt, b)} "
        f"| {_fmt('{:.2f}', median_ratio)} | {per_rep} | {row.target} | {met} |"
    )
    return line, ok


SPOOL_ROWS: list[Row] = [
    Row("calls_per_s", "burst: calls/s", "{:,.0f}"),
    Row("p50_us", "burst: per call p50 µs", "{:.1f}", "≤ 1.5x", lambda r: r <= 1.5),
    Row("p99_us", "burst: per call p99 µs", "{:.1f}"),
    Row("max_ms", "burst: per call max ms", "{:.1f}"),
    Row("e2e_events_per_s", "end to end: events/s", "{:,.0f}", "≥ 0.8x", lambda r: r >= 0.8),
    Row("cpu_us_per_event", "end to end: client CPU µs/event", "{:.1f}"),
    Row("peak_rss_mb", "end to end: peak RSS MB", "{:.1f}"),
    Row("duplicates", "end to end: duplicates at server", "{:,.0f}", ratio=False),
    Row("kept", "outage: kept (delivered)", "{:,.0f}", ratio=False),
    Row("dropped", "outage: dropped, reported", "{:,.0f}", "0 (spool)", ratio=False),
    Row("unaccounted", "outage: sent - kept - dropped - failed", "{:,.0f}", ratio=False),
    Row("outage_p50_us", "outage: per call p50 µs", "{:.1f}"),
    Row("outage_rss_growth_mb", "outage: RSS growth MB", "{:.1f}"),
    Row("recovery_s", "outage: s to recover (all delivered)", "{:.2f}", ratio=False),
    Row("shutdown_s", "shutdown() s", "{:.3f}"),
]


def render_spool(
    spool: list[dict[str, Any]], sw: list[dict[str, Any]], verdicts: list[tuple[str, bool]]
) -> list[str]:
    """segment_web with a spool_dir against itself without one, from the same run."""
    lines = [
        "### Durable delivery: segment_web with a `spool_dir` vs without",
        "",
        "The same scenarios and client options, plus `spool_dir` (a fresh temporary "
        "directory on the machine's disk, default `spool_max_bytes` and "
        "`spool_fsync_interval`). ratio = with spool / without.",
        "",
        "| metric | sw + spool | sw | ratio (median) | ratio per rep | target | met |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for row in SPOOL_ROWS:
        line, ok = table_row(row, spool, sw)
        lines.append(line)
        if ok is not None:
            verdicts.append((f"spool: {row.label} {row.target}", ok))
    return lines


def _target_ok(key: str, sw: list[dict[str, Any]]) -> bool:
    """Absolute targets hold in every repetition."""
    values = [run.get(key) for run in sw]
    if key in ("over_20ms", "unreported", "unaccounted", "dropped"):
        return all(v == 0 for v in values)
    if key == "recovery_s":
        return all(v is not None and v <= 10.0 for v in values)
    return True


# -- main -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import requests

    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "requests": requests.__version__,
    }


SCENARIOS = ("burst", "ceiling", "variants", "outage", "shutdown")


def git_state() -> str:
    try:
        head = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, timeout=10
            )
            .stdout.decode()
            .strip()
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "segment_web"],
            cwd=ROOT,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def run(
    plan: Plan, count_mode: str, scenarios: tuple[str, ...], quiet_wait: float
) -> tuple[str, list[tuple[str, bool]]]:
    started = time.monotonic()
    meta = machine()
    meta.update(count_mode=count_mode, tree=git_state(), quiet_wait=quiet_wait)
    runs: dict[str, list[dict[str, Any]]] = {
        lib: [{} for _ in range(plan.reps)] for lib in (*LIBS, SPOOL)
    }
    ceiling: list[dict[str, Any]] = []
    variants: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    server = Server(count_mode)
    pids = [server.child.proc.pid]

    def measured(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        before = wait_quiet(pids, quiet_wait) if quiet_wait > 0 else None
        meter = LoadMeter(pids)
        try:
            result = fn()
        finally:
            remove_spool_dirs()
        result[f"{name}_load"] = meter.cores()
        log(
            f"  {name}: other load {result[f'{name}_load']:.2f} cores"
            + ("" if before is None else f" (before: {before:.2f})")
        )
        return result

    try:
        log(f"server on port {server.port}; measuring its capacity for {plan.probe_s:g} s")
        meta["capacity"] = measured("probe", lambda: server.probe(plan.probe_s))
        log(f"server capacity: {meta['capacity']['messages_per_s']:,.0f} messages/s")
        meta["noise"] = measured("noise", lambda: run_noise(server, plan.burst_n))
        for rep in range(plan.reps):
            order = (*LIBS, SPOOL) if rep % 2 == 0 else (SPOOL, *LIBS[::-1])
            steps: list[tuple[str, Callable[..., dict[str, Any]]]] = [
                ("burst", run_burst),
                ("outage", run_outage),
                ("shutdown", run_shutdown),
            ]
            for name, step in steps:
                if name not in scenarios:
                    continue
                for lib in order:
                    log(f"rep {rep + 1}: {lib} {name}")
                    result = measured(name, partial(step, server, lib, plan))
                    meta[lib] = result.pop("version")
                    meta[f"{lib} json"] = result.pop("json_backend", None) or meta.get(
                        f"{lib} json"
                    )
                    runs[lib][rep].update(result)
                if name == "burst" and "ceiling" in scenarios:
                    log(f"rep {rep + 1}: ceiling")
                    ceiling.append(measured("ceiling", lambda: run_ceiling(server, plan)))
                if name == "burst" and "variants" in scenarios:
                    for variant in VARIANTS:
                        log(f"rep {rep + 1}: segment_web, {variant}")
                        burst = partial(run_burst, server, "segment_web", plan, variant)
                        variants[variant].append(measured("burst", burst))
            done = {lib: runs[lib][rep] for lib in (*LIBS, SPOOL)}
            log(f"rep {rep + 1} done: " + json.dumps(done))
    finally:
        server.close()
    meta["elapsed_s"] = time.monotonic() - started
    meta["notes"] = [
        "Notes:",
        "",
        "- Per-call times are `time.perf_counter_ns()` around each `track()`; CPU is the "
        "client process's user+system time (getrusage) from the first call until the server "
        "had every message; RSS growth is peak RSS (ru_maxrss) minus the RSS just before "
        "the first call.",
        "- End to end: both clients call `flush()` after the last call (segment_web: sends the "
        "partial last batch at once; analytics-python: `queue.join()`).",
        "- Outage: kept = unique messageIds the server accepted. segment_web reports drops "
        "through the `message_dropped` signal (one per message, counted); analytics-python's "
        "report is `track()` returning `(False, msg)` plus the log line "
        '"analytics-python queue is full". Recovery = the server\'s last accepted batch '
        "minus the moment it recovered, once the client's `flush()` returned; drain = first "
        "to last accepted batch. Retries and backoff are each library's defaults.",
        "- Other load = CPU used by processes outside the benchmark during each client run "
        "(/proc/stat minus this process tree), in cores; the machine has "
        f"{meta['nproc']}. Wall-clock figures (calls/s, per-call times, events/s) suffer "
        "when it is not ~0; CPU µs/event much less.",
        "- Spool: with a `spool_dir` every accepted message is also written to a file before "
        "`track()` returns (one `write()`; `fsync` every second from a thread of its own), and "
        "beyond `max_queue_size` messages wait on disk only, so the outage keeps all of them.",
        "- Raw data per repetition: the orchestrator's log (stderr).",
    ]
    table, verdicts = render(plan, runs, ceiling, meta)
    if any(variants.values()):
        table += render_variants(runs, variants)
    return table, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="segment_web vs analytics-python")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3)")
    parser.add_argument("--quick", action="store_true", help="scaled-down smoke check")
    parser.add_argument("--out", type=Path, default=None, help=f"default {RESULTS}")
    parser.add_argument("--count", choices=("regex", "json"), default="regex")
    parser.add_argument(
        "--event",
        choices=tuple(EVENT_TEXT),
        default="realistic",
        help="how each call's event is made (default realistic)",
    )
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=None,
        help="before each client run, wait up to this many seconds for other processes "
        "to go quiet (default 20, --quick 2; 0: don't wait)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        plan = Plan(**{**asdict(plan), "reps": args.reps})
    plan = Plan(**{**asdict(plan), "event": args.event})
    scenarios = tuple(name.strip() for name in args.only.split(",") if name.strip())
    if not scenarios or set(scenarios) - set(SCENARIOS):
        parser.error(f"--only takes names from {SCENARIOS}")
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else (2.0 if args.quick else 20.0)
    out = args.out if args.out is not None else (None if args.quick else RESULTS)

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        table, verdicts = run(plan, args.count, scenarios, quiet_wait)
    finally:
        kill_children()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        log(f"wrote {out}")
    print(table)
    for name, ok in verdicts:
        print(f"{'MET   ' if ok else 'MISSED'} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
