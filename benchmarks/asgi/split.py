"""Where the ASGI middleware's added cost goes inside real requests.

    .venv/bin/python -m benchmarks.asgi.split

The benchmark's HTML page (``benchmarks.asgi.run``), bare and through three middlewares:
``auto_page=False`` (no message at all), ``enable=False`` (the page call built, nothing
delivered) and as shipped. Interleaved rounds of blocks; prints the added request-thread
and all-thread CPU per request (medians over the rounds). The shipped variant's block
includes a ``flush()``, so the delivery of its events is charged to it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks import adapter_bench as bench
from benchmarks.asgi import run
from benchmarks.asgi.scopes import empty_body, http_scope

ROUNDS = 20


def main() -> None:
    sink = bench.Sink()
    loop = asyncio.new_event_loop()
    try:

        def wrapped(**options: Any) -> Any:
            return run.SegmentMiddleware(
                run.build_app(),
                write_key="bench",
                host=sink.url,
                flush_at=bench.FLUSH_AT,
                **options,
            )

        apps = {
            "bare": run.build_app(),
            "the middleware, auto_page=False (no message at all)": wrapped(auto_page=False),
            "the middleware, enable=False (page built, nothing delivered)": wrapped(enable=False),
            "the middleware as shipped": wrapped(),
        }
        template = http_scope(bench.ENDPOINTS[0].path, run.HEADERS)
        responses = run.Responses()

        async def block(app: Any, n: int) -> None:
            for _ in range(n):
                await app({**template, "state": {}}, empty_body, responses)

        for app in apps.values():
            loop.run_until_complete(block(app, bench.WARMUP))
        thread: dict[str, list[float]] = {name: [] for name in apps}
        process: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(ROUNDS):
            for name, app in apps.items():
                cpu, own = time.process_time(), time.thread_time()
                loop.run_until_complete(block(app, bench.BLOCK))
                own = time.thread_time() - own
                integration = getattr(app, "integration", None)
                if integration is not None:
                    integration.client.flush()
                cpu = time.process_time() - cpu
                thread[name].append(own / bench.BLOCK * 1e6)
                process[name].append(cpu / bench.BLOCK * 1e6)
    finally:
        loop.close()
        sink.close()
    bench.print_split(thread, process)


if __name__ == "__main__":
    main()
