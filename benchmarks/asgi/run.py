"""What SegmentMiddleware adds to an ASGI request (Starlette), as the user's server feels it.

    .venv/bin/python -m benchmarks.asgi.run [--rounds N]

Each request is one ``await app(scope, receive, send)`` on a Starlette app, bare or
wrapped in ``SegmentMiddleware``, with a returning browser's headers from the trusted peer
127.0.0.1; a block of requests runs in one event-loop turn sequence. The method
(all-thread CPU, waiting for delivery after every block, the checks) is
``benchmarks/adapter_bench.py``'s. The table goes to ``benchmarks/results/asgi.md``.
``benchmarks.asgi.loop_lag`` measures the event loop's lag and the lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

import segment_web
from benchmarks import adapter_bench as bench
from benchmarks.asgi.scopes import empty_body, http_scope
from segment_web.asgi import SegmentMiddleware

RESULTS = Path(__file__).resolve().parents[1] / "results" / "asgi.md"


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(bench.PAGE_HTML)


async def cart(request: Request) -> JSONResponse:
    handle = getattr(request.state, "analytics", None)  # absent without the middleware
    if handle is not None:
        handle.track(event="Product Added", properties=bench.cart_properties())
    return JSONResponse({"ok": True, "items": 3})


def build_app() -> Starlette:
    return Starlette(routes=[Route("/", home, name="home"), Route("/api/cart", cart)])


HEADERS = [(b"host", b"shop.example")] + [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in bench.BROWSER_HEADERS.items()
]


class Responses:
    """The ``send`` of every request: keeps the status of the last response started."""

    status = 0

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


def setup(sink: bench.Sink) -> tuple[bench.RunBlock, Callable[[], object]]:
    loop = asyncio.new_event_loop()
    wrapped = SegmentMiddleware(
        build_app(), write_key="bench", host=sink.url, flush_at=bench.FLUSH_AT
    )
    apps: dict[str, Any] = {"bare": build_app(), "segment": wrapped}
    scopes = {endpoint.path: http_scope(endpoint.path, HEADERS) for endpoint in bench.ENDPOINTS}
    responses = Responses()

    async def block(variant: str, path: str, n: int, walls: list[int]) -> None:
        app, template = apps[variant], scopes[path]
        clock, record = time.perf_counter_ns, walls.append
        for _ in range(n):
            scope = {**template, "state": {}}
            start = clock()
            await app(scope, empty_body, responses)
            record(clock() - start)
            if responses.status != 200:
                raise RuntimeError(f"{variant} {path}: HTTP {responses.status}")

    def run_block(variant: str, path: str, n: int, walls: list[int]) -> None:
        loop.run_until_complete(block(variant, path, n, walls))

    return run_block, wrapped.integration.client.flush


SUBJECT = bench.Subject(
    "ASGI middleware: added cost per request (Starlette)",
    f"Starlette {version('starlette')}, segment_web {segment_web.__version__}",
    "`await app(scope, receive, send)` on a Starlette app, bare or wrapped in "
    "`SegmentMiddleware`, a block of requests per run of the event loop",
    RESULTS,
)

if __name__ == "__main__":
    bench.main(SUBJECT, setup)
