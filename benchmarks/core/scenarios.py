"""One benchmark client process: one library, one scenario, then it exits.

Started by ``benchmarks.core.run`` as ``python -m benchmarks.core.scenarios '<json>'``.
It talks to the orchestrator in JSON lines: it prints ``{"event": "ready"}`` once the
library is imported and its client built, waits for ``go`` on stdin, runs the calls and
prints its measurements. Timestamps are ``time.monotonic()``, comparable with the
server's. A watchdog ends the process if anything hangs.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import os
import resource
import sys
import threading
import time
import uuid
from array import array
from collections.abc import Callable
from typing import Any

WRITE_KEY = "bench-key"
EVENT = "Order Completed"
USER_POOL = 1000
WATCHDOG_SECONDS = 600.0


def event_properties() -> dict[str, Any]:
    """A realistic track() payload, as an app builds it for each call: 10 properties,
    among them a float, a bool, None, a list, a nested dict and a datetime."""
    return {
        "order_id": "ord_8f2c1a9e4b",
        "revenue": 129.99,
        "currency": "EUR",
        "quantity": 3,
        "coupon": None,
        "first_purchase": False,
        "categories": ["footwear", "running", "sale"],
        "product": {
            "sku": "SKU-44821",
            "name": "Trail running shoes",
            "brand": "Acme",
            "variant": {"size": "42", "color": "blue"},
        },
        "placed_at": dt.datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=dt.timezone.utc),
        "shipping": 4.95,
    }


def wire_message(message_id: str) -> dict[str, Any]:
    """The same event as it goes on the wire (JSON-native values), for the ceiling."""
    properties = event_properties()
    properties["placed_at"] = properties["placed_at"].isoformat()
    return {
        "type": "track",
        "messageId": message_id,
        "timestamp": "2024-05-17T09:30:12.345Z",
        "userId": "user_0042",
        "event": EVENT,
        "properties": properties,
        "context": {"library": {"name": "segment-web", "version": "0.1.0"}},
    }


def trivial_hook(message: dict[str, Any]) -> dict[str, Any]:
    """The cheapest ``before_send`` hook: it changes nothing."""
    return message


# -- process measurements -------------------------------------------------------------


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bounded(fn: Callable[[], object], timeout: float) -> dict[str, Any]:
    """Run ``fn`` in a daemon thread, waiting at most ``timeout`` seconds for it."""
    outcome: dict[str, Any] = {"error": None}

    def target() -> None:
        try:
            fn()
        except BaseException as error:
            outcome["error"] = repr(error)

    thread = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(timeout)
    end = time.monotonic()
    outcome.update(finished=not thread.is_alive(), seconds=end - start, end=end)
    return outcome


# -- the two libraries behind one face ------------------------------------------------


class SegmentWeb:
    name = "segment_web"

    def __init__(
        self, url: str, max_queue_size: int | None, spool_dir: str | None = None, variant: str = ""
    ) -> None:
        if variant == "stdlib json":
            sys.modules["orjson"] = None  # type: ignore[assignment]  # as if not installed
        from segment_web import Analytics, signals
        from segment_web.version import VERSION
        from segment_web.wire import json_backend

        options: dict[str, Any] = {}
        if max_queue_size is not None:
            options["max_queue_size"] = max_queue_size
        if spool_dir is not None:
            options["spool_dir"] = spool_dir
        if variant == "before_send":
            options["before_send"] = trivial_hook
        elif variant == "plan":
            from benchmarks.plan.run import PLAN
            from segment_web.plan import TrackingPlan

            options["tracking_plan"] = TrackingPlan.from_dict(PLAN)
        self.json_backend = json_backend.BACKEND
        self.client = Analytics(
            WRITE_KEY, host=url, flush_at=100, flush_interval=0.5, gzip=False, **options
        )
        self.version = VERSION
        self.queue_bound = self.client.max_queue_size
        self.track = self.client.track
        self.drop_reports = 0  # a count only: keeping the ids would weigh on RSS
        self.failed = 0
        signals.message_dropped.connect(self._dropped, sender=self.client, weak=False)
        signals.batch_failed.connect(self._failed, sender=self.client, weak=False)

    def _dropped(self, sender: object, **kwargs: Any) -> None:
        self.drop_reports += 1

    def _failed(self, sender: object, **kwargs: Any) -> None:
        self.failed += len(kwargs["batch"])

    def flush(self, timeout: float) -> dict[str, Any]:
        return bounded(lambda: self.client.flush(timeout=timeout), timeout + 5)

    def shutdown(self, timeout: float) -> dict[str, Any]:
        return bounded(lambda: self.client.shutdown(timeout=timeout), timeout + 5)

    def reports(self) -> dict[str, Any]:
        return {"dropped_reported": self.drop_reports, "failed_reported": self.failed}


class AnalyticsPython:
    name = "analytics-python"

    json_backend = "json"

    def __init__(
        self, url: str, max_queue_size: int | None, spool_dir: str | None = None, variant: str = ""
    ) -> None:
        from segment.analytics.client import Client
        from segment.analytics.version import VERSION

        options: dict[str, Any] = {}
        if max_queue_size is not None:
            options["max_queue_size"] = max_queue_size
        self.client = Client(
            WRITE_KEY,
            host=url,
            upload_size=100,
            upload_interval=0.5,
            gzip=False,
            sync_mode=False,
            on_error=self._on_error,
            **options,
        )
        self.version = VERSION
        self.queue_bound = self.client.queue.maxsize
        self.track = self.client.track
        self.failed = 0
        self.full_logged = 0
        outer = self

        class CountQueueFull(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage() == "analytics-python queue is full":
                    outer.full_logged += 1

        logging.getLogger("segment").addHandler(CountQueueFull(logging.WARNING))

    def _on_error(self, error: Exception, batch: list[Any]) -> None:
        self.failed += len(batch)

    def flush(self, timeout: float) -> dict[str, Any]:
        return bounded(self.client.flush, timeout)

    def shutdown(self, timeout: float) -> dict[str, Any]:
        return bounded(self.client.shutdown, timeout)

    def reports(self) -> dict[str, Any]:
        return {"queue_full_logged": self.full_logged, "failed_reported": self.failed}


LIBRARIES: dict[str, type[SegmentWeb] | type[AnalyticsPython]] = {
    SegmentWeb.name: SegmentWeb,
    SegmentWeb.name + "+spool": SegmentWeb,  # the same, given a spool_dir in the config
    AnalyticsPython.name: AnalyticsPython,
}


# -- talking to the orchestrator ------------------------------------------------------


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def wait_for(command: str) -> None:
    line = sys.stdin.readline()
    if line.strip() != command:
        emit("error", message=f"expected {command!r}, got {line.strip()!r}")
        os._exit(2)


def calls(track: Callable[..., Any], n: int, latencies: array[int], event: str) -> int:
    """``n`` track() calls, each timed; returns how many the library refused.

    ``realistic``: each call gets properties and a ``timestamp`` made for it, as an app's
    do (made before the timer starts; their garbage is the app's, in both libraries).
    ``reused``: one properties dict for every call and no ``timestamp``.
    """
    users = [f"user_{i:04d}" for i in range(USER_POOL)]
    clock = time.perf_counter_ns
    refused = 0
    shared = event_properties()
    utc = dt.timezone.utc
    now = dt.datetime.now
    realistic = event == "realistic"
    for i in range(n):
        if realistic:
            options = {"properties": event_properties(), "timestamp": now(utc)}
        else:
            options = {"properties": shared}
        start = clock()
        result = track(user_id=users[i % USER_POOL], event=EVENT, **options)
        latencies[i] = clock() - start
        # analytics-python returns (False, msg) when its queue is full
        if result.__class__ is tuple and result[0] is False:
            refused += 1
    return refused


def latency_stats(latencies: array[int], n: int) -> dict[str, float]:
    ordered = sorted(latencies[:n])
    return {
        "p50_us": ordered[n // 2] / 1e3,
        "p99_us": ordered[min(n - 1, int(n * 0.99))] / 1e3,
        "max_ms": ordered[-1] / 1e6,
        "over_10ms": sum(1 for x in ordered if x > 10_000_000),
        "over_20ms": sum(1 for x in ordered if x > 20_000_000),
    }


def run_library(config: dict[str, Any]) -> None:
    scenario: str = config["scenario"]
    n: int = config["n"]
    library = LIBRARIES[config["lib"]](
        config["url"],
        config.get("max_queue_size"),
        spool_dir=config.get("spool_dir"),
        variant=config.get("variant", ""),
    )
    latencies = array("q", bytes(8 * n))
    gc.collect()
    baseline_rss = rss_kb()
    emit(
        "ready",
        version=library.version,
        queue_bound=library.queue_bound,
        json_backend=library.json_backend,
    )
    wait_for("go")

    cpu_start = cpu_seconds()
    thread_start = time.thread_time()
    first = time.monotonic()
    refused = calls(library.track, n, latencies, config.get("event", "realistic"))
    caller_cpu = time.thread_time() - thread_start
    last = time.monotonic()
    cpu_calls = cpu_seconds() - cpu_start
    result: dict[str, Any] = {
        "n": n,
        "first": first,
        "last": last,
        "calls_s": last - first,
        "cpu_calls_s": cpu_calls,
        "caller_cpu_s": caller_cpu,
        "refused": refused,
        "baseline_rss_kb": baseline_rss,
    }

    if scenario == "shutdown":
        outcome = library.shutdown(config["wait_timeout"])
        result.update(shutdown=outcome)
    else:
        emit("calls_done", first=first, last=last)
        outcome = library.flush(config["wait_timeout"])
        result.update(flush=outcome)
        if scenario == "burst":
            wait_for("stop")  # the orchestrator saw the server receive all n
    result.update(
        cpu_s=cpu_seconds() - cpu_start,
        rss_kb=rss_kb(),
        peak_rss_kb=peak_rss_kb(),
        latency=latency_stats(latencies, n),
        **library.reports(),
    )
    emit("result", **result)


def run_ceiling(config: dict[str, Any]) -> None:
    """One thread: json-encode prebuilt 100-message batches and POST them, one Session."""
    import base64

    import requests

    n: int = config["n"]
    size = 100
    template = [wire_message("") for _ in range(size)]
    ids = [str(uuid.uuid4()) for _ in range(n)]
    token = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
    url = config["url"].rstrip("/") + "/v1/batch"
    session = requests.Session()
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    gc.collect()
    baseline_rss = rss_kb()
    emit("ready", version=requests.__version__, queue_bound=0)
    wait_for("go")

    cpu_start = cpu_seconds()
    first = time.monotonic()
    for start in range(0, n, size):
        chunk = ids[start : start + size]
        batch = template[: len(chunk)]
        for message, message_id in zip(batch, chunk, strict=True):
            message["messageId"] = message_id
        sent_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        body = {"batch": batch, "sentAt": sent_at, "writeKey": WRITE_KEY}
        response = session.post(url, data=encode(body).encode(), headers=headers, timeout=15)
        if response.status_code != 200:
            emit("error", message=f"HTTP {response.status_code}")
            os._exit(2)
    last = time.monotonic()
    emit(
        "result",
        n=n,
        first=first,
        last=last,
        calls_s=last - first,
        cpu_s=cpu_seconds() - cpu_start,
        baseline_rss_kb=baseline_rss,
        peak_rss_kb=peak_rss_kb(),
    )


def run_noise(config: dict[str, Any]) -> None:
    """No library, no threads, no I/O: how often this machine stalls a Python loop."""
    n: int = config["n"]
    properties = event_properties()
    properties["placed_at"] = properties["placed_at"].isoformat()
    encode = json.JSONEncoder(separators=(",", ":")).encode
    latencies = array("q", bytes(8 * n))
    emit("ready", version="", queue_bound=0)
    wait_for("go")
    clock = time.perf_counter_ns
    first = time.monotonic()
    for i in range(n):
        start = clock()
        encode(properties)
        latencies[i] = clock() - start
    emit("result", n=n, calls_s=time.monotonic() - first, latency=latency_stats(latencies, n))


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    watchdog = threading.Timer(config.get("lifetime", WATCHDOG_SECONDS), os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
    # What a typical app has: warnings to stderr (the orchestrator sends it to a file).
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    if config["lib"] == "ceiling":
        run_ceiling(config)
    elif config["lib"] == "noise":
        run_noise(config)
    else:
        run_library(config)
    sys.stdout.flush()
    os._exit(0)  # skip the libraries' exit-time flushes: everything is measured


if __name__ == "__main__":
    main()
