"""What SegmentMiddleware adds to a Django request, as the user's server feels it.

    .venv/bin/python -m benchmarks.django.run [--rounds N]

One process, one app, two middleware chains: SessionMiddleware + AuthenticationMiddleware
alone, and the same followed by SegmentMiddleware, driven through ``django.test.Client``
with a returning browser's headers; the method (all-thread CPU, waiting for delivery
after every block, the checks) is ``benchmarks/adapter_bench.py``'s. The table goes to
``benchmarks/results/django.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings

import segment_web
from benchmarks import adapter_bench as bench

BASE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
RESULTS = Path(__file__).resolve().parents[1] / "results" / "django.md"


def configure(host: str, segment: dict[str, Any] | None = None) -> None:
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
        SEGMENT={"WRITE_KEY": "bench", "HOST": host, "FLUSH_AT": bench.FLUSH_AT, **(segment or {})},
    )
    django.setup()


def setup(
    sink: bench.Sink, segment: dict[str, Any] | None = None
) -> tuple[bench.RunBlock, Callable[[], object]]:
    """The two variants' ``RunBlock`` and the client's flush; ``segment`` adds to the
    SEGMENT setting."""
    configure(sink.url, segment)
    from django.test import Client
    from django.test.utils import override_settings

    from segment_web.django import get_integration

    chains = {
        "bare": BASE_MIDDLEWARE,
        "segment": [*BASE_MIDDLEWARE, "segment_web.django.SegmentMiddleware"],
    }
    headers = {name.lower(): value for name, value in bench.BROWSER_HEADERS.items()}
    headers["host"] = "testserver"  # a browser always sends it; the test client does not
    gets = {}
    for variant, middleware in chains.items():
        client = Client(headers=headers)
        with override_settings(MIDDLEWARE=middleware):
            client.get("/api/cart")  # the handler builds its middleware chain now
        gets[variant] = client.get
    if (segment or {}).get("ENABLE", True):
        sink.wait(1)  # that first request's track, sent at once
    return bench.sync_run_block(gets), get_integration().client.flush


SUBJECT = bench.Subject(
    "Django adapter: added cost per request (SegmentMiddleware)",
    f"Django {django.get_version()}, segment_web {segment_web.__version__}",
    "`django.test.Client` (the browser's headers on every request), one app; baseline "
    "chain SessionMiddleware + AuthenticationMiddleware, measured chain the same + "
    "SegmentMiddleware",
    RESULTS,
)

if __name__ == "__main__":
    bench.main(SUBJECT, setup)
