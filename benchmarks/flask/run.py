"""What the Flask extension adds to a request, as the user's server feels it.

    .venv/bin/python -m benchmarks.flask.run [--rounds N]

Two apps with the same views, one with ``Segment(app)``, driven through Flask's test
client with a returning browser's headers; the method (all-thread CPU, waiting for
delivery after every block, the checks) is ``benchmarks/adapter_bench.py``'s. The table
goes to ``benchmarks/results/flask.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
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


def setup(sink: bench.Sink) -> tuple[bench.RunBlock, Callable[[], object]]:
    apps = {"bare": create_app(None), "segment": create_app(sink.url)}
    headers = bench.BROWSER_HEADERS
    gets = {
        name: partial(app.test_client(use_cookies=False).get, headers=headers)
        for name, app in apps.items()
    }
    return bench.sync_run_block(gets), apps["segment"].extensions["segment"].flush


SUBJECT = bench.Subject(
    "Flask extension: added cost per request",
    f"Flask {version('flask')}, Werkzeug {version('werkzeug')}, "
    f"segment_web {segment_web.__version__}",
    "Flask's test client (`use_cookies=False`, the browser's headers on every request); "
    "two apps with the same views, one with `Segment(app)`",
    RESULTS,
)

if __name__ == "__main__":
    bench.main(SUBJECT, setup)
