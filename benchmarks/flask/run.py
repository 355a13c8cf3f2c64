"""What the Flask extension adds to a request: the same views with and without it.

``python -m benchmarks.flask.run [--rounds 20 --per-round 500]`` (about a minute)

Four copies of one app, served through Flask's test client in this process:

- ``plain``: no extension;
- ``segment``: ``Segment(app)`` with production defaults (``flush_at=20``, gzip), its
  client delivering to a local sink on 127.0.0.1 (a subprocess, so serving it costs
  this process nothing): what a user pays, background delivery included;
- ``segment, enable=False``: the same with the transport part off (the request-side
  cost alone: reading the request, the handle, the cookie check, the page call);
- ``segment, auto_page=False``: delivering, but no automatic page call, so ``/html``
  shows what the page call itself costs.

Two views: ``/html`` (a small Jinja template: earns an automatic ``page`` call) and
``/hello`` (text/plain: the handle is built, no message is sent). Requests carry a
browser's headers and an ``ajs_anonymous_id`` cookie (a returning visitor); the app has
a secret key, as any app with sessions or a login does, so Flask parses the cookies
whether the extension is there or not.

Rounds interleave the variants (shuffled order per round) so drift and neighbours'
load hit all of them alike. Each request is timed alone (``perf_counter_ns`` around
``client.get``); the table gives the median and p99 per variant and the difference to
``plain``, which is the extension's added cost. Results go to benchmarks/results/flask.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template
from jinja2 import DictLoader

from segment_web import Batch
from segment_web.flask import Segment
from segment_web.signals import batch_sent

RESULTS = Path(__file__).resolve().parents[1] / "results" / "flask.md"
TARGET_US = 50.0
WARM_UP = 300  # requests per variant and view before timing
PAGE = """<!doctype html><html><head><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
</body></html>"""
HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Accept-Language": "en-GB,en;q=0.9,fr;q=0.6",
    "Referer": "https://www.example.com/previous",
    "Cookie": "ajs_anonymous_id=%22a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d%22; session=x",
}
VIEWS = ("/html", "/hello")


def create_app() -> Flask:
    app = Flask(__name__)
    # As in any app with sessions or a login: Flask then parses the cookies itself.
    app.secret_key = "benchmark-only"
    app.jinja_loader = DictLoader({"page.html": PAGE})

    @app.get("/html")
    def html() -> str:
        return render_template("page.html", title="Products", items=["cup", "kettle", "mill"])

    @app.get("/hello")
    def hello() -> Response:
        return Response("Hello, World!", mimetype="text/plain")

    return app


def variants(sink_url: str) -> dict[str, Flask]:
    plain = create_app()
    delivering = create_app()
    Segment(delivering, write_key="bench", host=sink_url)
    disabled = create_app()
    Segment(disabled, write_key="bench", host=sink_url, enable=False)
    no_page = create_app()
    Segment(no_page, write_key="bench", host=sink_url, auto_page=False)
    return {
        "plain": plain,
        "segment": delivering,
        "segment, enable=False": disabled,
        "segment, auto_page=False": no_page,
    }


def time_requests(get: Callable[..., Any], path: str, count: int, into: list[int]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        response = get(path, headers=HEADERS)
        into.append(clock() - start)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def measure(apps: dict[str, Flask], rounds: int, per_round: int) -> dict[tuple[str, str], Any]:
    clients = {name: app.test_client(use_cookies=False) for name, app in apps.items()}
    for client in clients.values():  # warm-up: imports, template cache, lru caches
        for path in VIEWS:
            time_requests(client.get, path, WARM_UP, [])
    samples: dict[tuple[str, str], list[int]] = {(n, p): [] for n in apps for p in VIEWS}
    order = list(apps)
    rng = random.Random(7)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            for path in VIEWS:
                time_requests(clients[name].get, path, per_round, samples[name, path])
    return samples


def summarize(samples: dict[tuple[str, str], list[int]]) -> list[dict[str, Any]]:
    rows = []
    for (name, path), times in samples.items():
        base = samples["plain", path]
        median, p99 = statistics.median(times) / 1000, percentile(times, 0.99)
        base_median, base_p99 = statistics.median(base) / 1000, percentile(base, 0.99)
        rows.append(
            {
                "view": path,
                "variant": name,
                "n": len(times),
                "median": median,
                "p99": p99,
                "added_median": None if name == "plain" else median - base_median,
                "added_p99": None if name == "plain" else p99 - base_p99,
            }
        )
    rows.sort(key=lambda row: (VIEWS.index(row["view"]), row["variant"] != "plain"))
    return rows


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # not on every platform
        return "unknown"


def report(
    rows: list[dict[str, Any]], args: argparse.Namespace, delivered: int, took: float
) -> str:
    def us(value: float | None) -> str:
        return "—" if value is None else f"{value:+.1f}" if value < 0 else f"{value:.1f}"

    lines = [
        "# Flask extension benchmark: added cost per request",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; run time {took:.0f} s; "
        f"1-minute load average {args.load_before} before, {load_average()} after (p99 values "
        "mostly measure other processes when it exceeds the CPU count)",
        f"- machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        f"- libraries: Flask {version('flask')}, Werkzeug {version('werkzeug')}, "
        f"segment-web {version('segment-web')}",
        f"- plan: {args.rounds} interleaved rounds x {args.per_round} requests per variant "
        "and view, through Flask's test client (`use_cookies=False`, browser headers and an "
        "`ajs_anonymous_id` cookie on every request); each request timed alone",
        "- `segment`: production defaults (flush_at=20, gzip), delivering to a local sink on "
        f"127.0.0.1 in a subprocess (all {delivered:,} page calls delivered, counted by the "
        "`batch_sent` signal after a final flush); `enable=False`: the same with the "
        "transport part off; `auto_page=False`: delivering, without the automatic page call",
        "- the app has a secret key (sessions), so Flask parses the request's cookies in "
        "every variant; an app without one pays the extension ~10 µs more for that parse",
        "- added = variant minus plain, for the median and for the p99 "
        f"(target: < {TARGET_US:.0f} µs per request at the median)",
        "",
        "| view | variant | requests | median µs | p99 µs | added median µs | added p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['view']}` | {row['variant']} | {row['n']:,} | {row['median']:.1f} "
            f"| {row['p99']:.1f} | {us(row['added_median'])} | {us(row['added_p99'])} |"
        )
    lines += [
        "",
        "`/html` earns an automatic page call (built, validated and queued on the request "
        "thread); `/hello` (text/plain) only builds the request's handle. The test client's "
        "own cost (building the WSGI environ, reading the response) is in every row alike.",
        "",
    ]
    return "\n".join(lines)


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"success":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_sink() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    if args.sink:
        serve_sink()
        return
    started = time.monotonic()
    args.load_before = load_average()
    sink = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.flask.run", "--sink"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline().split()[1])
        apps = variants(f"http://127.0.0.1:{port}")
        client = apps["segment"].extensions["segment"].client
        sent: list[int] = []

        def count(sender: object, batch: Batch, **kwargs: object) -> None:
            sent.append(len(batch))

        batch_sent.connect(count, sender=client)
        samples = measure(apps, args.rounds, args.per_round)
        client.flush(timeout=30)
        delivered = sum(sent)
        expected = len(samples["segment", "/html"]) + WARM_UP
        if delivered != expected:
            raise SystemExit(f"{delivered} page calls delivered, expected {expected}")
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    text = report(summarize(samples), args, delivered, time.monotonic() - started)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
