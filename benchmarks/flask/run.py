"""What the Flask extension adds to a request, as the user's server feels it.

    .venv/bin/python -m benchmarks.flask.run [--rounds N]

Two apps with the same views, one with ``Segment(app)``, driven through Flask's test
client with a returning browser's headers; the method (all-thread CPU, waiting for
delivery after every block, the checks) is ``benchmarks/adapter_bench.py``'s. The table
goes to ``benchmarks/results/flask.md``.
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import version
from pathlib import Path

from flask import Flask, Response, g, jsonify

import segment_web
from benchmarks import adapter_bench as bench
from segment_web.flask import Segment

RESULTS = Path(__file__).resolve().parents[1] / "results" / "flask.md"


def create_app(host: str | None) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    if host is not None:
        app.config.update(
            SEGMENT_WRITE_KEY="bench", SEGMENT_HOST=host, SEGMENT_FLUSH_AT=bench.FLUSH_AT
        )
        Segment(app)

    @app.get("/")
    def home() -> str:
        return bench.PAGE_HTML

    @app.get("/api/cart")
    def cart() -> Response:
        handle = g.get("analytics")
        if handle is not None:
            handle.track(event="Product Added", properties=bench.cart_properties())
        return jsonify(ok=True, items=3)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=bench.ROUNDS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    began = time.monotonic()
    sink = bench.Sink()
    try:
        apps = {"bare": create_app(None), "segment": create_app(sink.url)}
        clients = {name: app.test_client(use_cookies=False) for name, app in apps.items()}
        headers = bench.BROWSER_HEADERS

        def run_block(variant: str, path: str, n: int, walls: list[int]) -> None:
            get, clock, record = clients[variant].get, time.perf_counter_ns, walls.append
            for _ in range(n):
                start = clock()
                response = get(path, headers=headers)
                record(clock() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{variant} {path}: HTTP {response.status_code}")

        client = apps["segment"].extensions["segment"]
        series, failures = bench.measure(run_block, sink, client.flush, args.rounds)
    finally:
        sink.close()
    text, verdicts = bench.report(
        "Flask extension: added cost per request",
        f"Flask {version('flask')}, Werkzeug {version('werkzeug')}, "
        f"segment_web {segment_web.__version__}",
        "Flask's test client (`use_cookies=False`, the browser's headers on every request); "
        "two apps with the same views, one with `Segment(app)`",
        series,
        failures,
        time.monotonic() - began,
        args.rounds,
    )
    bench.write(args.out, text, verdicts)


if __name__ == "__main__":
    main()
