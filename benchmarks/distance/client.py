"""One client at a paced rate, for the at-distance benchmark (``run.py`` starts it).

    python -m benchmarks.distance.client '<json config>'

Config: ``lib`` (``segment_web``, ``segment_web+spool`` or ``analytics-python``),
``url``, ``rate`` (calls per second, paced evenly), ``seconds`` and, for the spool,
``spool_dir``. Every library runs with its defaults: the write key and the host only.
Prints one JSON line when ready, waits for ``go`` on stdin, makes the calls, then
``flush()`` (bounded), and prints the result line.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import threading
import time
from typing import Any

from benchmarks.core.scenarios import event_properties

WRITE_KEY = "bench-key"
FLUSH_BOUND = 10.0  # seconds a flush may take before the run says so
BEHIND = 1.5  # a caller this many times the scenario's seconds behind stops calling


def make_client(config: dict[str, Any]) -> tuple[Any, dict[str, int], str]:
    """The library's client with default options, a drop counter, its version."""
    dropped = {"reported": 0}
    if config["lib"].startswith("segment_web"):
        from segment_web import Analytics, signals
        from segment_web.version import VERSION

        options = {"spool_dir": config["spool_dir"]} if config.get("spool_dir") else {}
        client = Analytics(WRITE_KEY, host=config["url"], **options)

        def count(sender: object, **kwargs: Any) -> None:
            dropped["reported"] += 1

        signals.message_dropped.connect(count, sender=client, weak=False)
        return client, dropped, VERSION
    from segment.analytics.client import Client
    from segment.analytics.version import VERSION as AP_VERSION

    class CountQueueFull(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "analytics-python queue is full":
                dropped["reported"] += 1

    logging.getLogger("segment").addHandler(CountQueueFull(logging.WARNING))
    return Client(WRITE_KEY, host=config["url"]), dropped, AP_VERSION


def paced(track: Any, rate: float, seconds: float) -> tuple[int, list[int]]:
    """``rate`` calls a second, evenly, for ``seconds``: each call at its instant (or as
    soon as the caller can, if behind; a caller still behind at ``BEHIND`` times
    ``seconds`` stops). Returns the calls made and their latencies (ns)."""
    total = int(rate * seconds)
    latencies = [0] * total
    clock = time.perf_counter_ns
    start = time.monotonic()
    made = 0
    stop = start + seconds * BEHIND
    while made < total and time.monotonic() < stop:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while made < due and (made % 1000 or time.monotonic() < stop):
            properties = event_properties()
            before = clock()
            track(user_id=f"user_{made % 1000:04d}", event="Order Completed", properties=properties)
            latencies[made] = clock() - before
            made += 1
        if made < total:
            ahead = start + made / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    return made, latencies


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    client, dropped, version = make_client(config)
    print(json.dumps({"event": "ready", "version": version}), flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    first = time.monotonic()
    caller_before = time.thread_time()
    made, latencies = paced(client.track, config["rate"], config["seconds"])
    caller_cpu = time.thread_time() - caller_before
    last_call = time.monotonic()
    flushed = threading.Event()

    def flush() -> None:
        client.flush()
        flushed.set()

    threading.Thread(target=flush, daemon=True).start()
    flushed.wait(FLUSH_BOUND)
    flush_done = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies[:made])
    result = {
        "event": "result",
        "made": made,
        "first_call": first,
        "last_call": last_call,
        "calls_s": last_call - first,
        "flush_s": flush_done - last_call if flushed.is_set() else None,
        "dropped_reported": dropped["reported"],
        "cpu_s": usage.ru_utime + usage.ru_stime - cpu_before,
        "caller_cpu_s": caller_cpu,  # the calling thread's, making the events included
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "p50_us": ordered[made // 2] / 1e3,
        "p99_us": ordered[min(made - 1, int(made * 0.99))] / 1e3,
    }
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    import os

    os._exit(0)  # neither library's exit hooks: the run measured what it needed


if __name__ == "__main__":
    main()
