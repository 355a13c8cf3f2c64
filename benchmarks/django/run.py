"""What SegmentMiddleware adds to a Django request, as the user's server feels it.

    .venv/bin/python -m benchmarks.django.run [--rounds N]

One process, one app, two middleware chains: SessionMiddleware + AuthenticationMiddleware
alone, and the same followed by SegmentMiddleware, driven through ``django.test.Client``
with a returning browser's headers; the method (all-thread CPU, waiting for delivery
after every block, the checks) is ``benchmarks/adapter_bench.py``'s. The table goes to
``benchmarks/results/django.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import django
from django.conf import settings

import segment_web
from benchmarks import adapter_bench as bench

BASE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
RESULTS = Path(__file__).resolve().parents[1] / "results" / "django.md"


def configure(host: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="benchmarks.django.app",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "segment_web.django",
        ],
        MIDDLEWARE=BASE_MIDDLEWARE,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        SEGMENT={"WRITE_KEY": "bench", "HOST": host, "FLUSH_AT": bench.FLUSH_AT},
    )
    django.setup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=bench.ROUNDS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    began = time.monotonic()
    sink = bench.Sink()
    try:
        configure(sink.url)
        from django.test import Client
        from django.test.utils import override_settings

        from segment_web.django import get_integration

        chains = {
            "bare": BASE_MIDDLEWARE,
            "segment": [*BASE_MIDDLEWARE, "segment_web.django.SegmentMiddleware"],
        }
        headers = {name.lower(): value for name, value in bench.BROWSER_HEADERS.items()}
        clients: dict[str, Client] = {}
        for variant, middleware in chains.items():
            client = Client(headers=headers)
            with override_settings(MIDDLEWARE=middleware):
                client.get("/api/cart")  # the handler builds its middleware chain now
            clients[variant] = client
        bench.Sink.wait(sink, 1)  # that first request's track, sent at once

        def run_block(variant: str, path: str, n: int, walls: list[int]) -> None:
            get, clock, record = clients[variant].get, time.perf_counter_ns, walls.append
            for _ in range(n):
                start = clock()
                response = get(path)
                record(clock() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{variant} {path}: HTTP {response.status_code}")

        client = get_integration().client
        series, failures = bench.measure(run_block, sink, client.flush, args.rounds)
    finally:
        sink.close()
    text, verdicts = bench.report(
        "Django adapter: added cost per request (SegmentMiddleware)",
        f"Django {django.get_version()}, segment_web {segment_web.__version__}",
        "`django.test.Client` (the browser's headers on every request), one app; baseline "
        "chain SessionMiddleware + AuthenticationMiddleware, measured chain the same + "
        "SegmentMiddleware",
        series,
        failures,
        time.monotonic() - began,
        args.rounds,
    )
    bench.write(args.out, text, verdicts)


if __name__ == "__main__":
    main()
