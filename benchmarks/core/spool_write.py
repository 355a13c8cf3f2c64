"""The spool's write with and without the GIL, side by side (issue 21 §3).

    .venv/bin/python -m benchmarks.core.spool_write [--reps N] [--calls N]

Each run is a fresh process: a client with a ``spool_dir`` makes ``--calls`` ``track()``
calls against the core benchmark's local server (``server.py``), then ``flush()``. The
two variants alternate and differ only in the segment writer's ``write``: ``os.write``
(what the spool uses: the GIL is released around the system call) or libc's ``write``
called through ``ctypes.PyDLL``, which keeps the GIL (what it used before). Prints the
median per-call time and client CPU per event of each variant, per run and overall.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

VARIANTS = ("os.write", "ctypes")


def client(variant: str, url: str, calls: int) -> dict[str, Any]:
    import ctypes
    import errno
    import os
    import resource
    import tempfile
    import time
    import types

    from segment_web import Analytics
    from segment_web.spool import writer

    if variant == "ctypes":
        c_write = ctypes.PyDLL(None, use_errno=True).write  # PyDLL: keeps the GIL

        def write(fd: int, data: bytes) -> int:
            while True:
                written: int = c_write(fd, data, ctypes.c_size_t(len(data)))
                if written >= 0:
                    return written
                code = ctypes.get_errno()
                if code != errno.EINTR:
                    raise OSError(code, os.strerror(code))

        names = {name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
        writer.os = types.SimpleNamespace(**{**names, "write": write})  # type: ignore[assignment]
    spool_dir = tempfile.mkdtemp(prefix="segment-web-spool-")
    analytics = Analytics(
        "k", host=url, spool_dir=spool_dir, flush_at=100, flush_interval=0.5, gzip=False
    )
    properties = {"plan": "pro", "text": "x" * 50, "items": [1, 2, 3], "nested": {"f": 1.5}}
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(calls):
        start = time.perf_counter_ns()
        analytics.track(user_id="u", event="Spooled", properties=properties)
        times.append(time.perf_counter_ns() - start)
    analytics.flush()
    after = resource.getrusage(resource.RUSAGE_SELF)
    analytics.shutdown()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"p50_us": statistics.median(times) / 1000, "cpu_us": cpu / calls * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--client", nargs=2, metavar=("VARIANT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client(args.client[0], args.client[1], args.calls)))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.core.server"], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    url = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    try:
        for _ in range(args.reps):
            for variant in VARIANTS:
                command = ["--calls", str(args.calls), "--client", variant, url]
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.core.spool_write", *command],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=True,
                )
                runs[variant].append(json.loads(done.stdout.splitlines()[-1]))
    finally:
        server.kill()
        server.wait()
    for variant, results in runs.items():
        p50 = [round(result["p50_us"], 1) for result in results]
        cpu = [round(result["cpu_us"], 1) for result in results]
        print(
            f"{variant}: track() p50 µs {statistics.median(p50):.1f} {p50}; "
            f"client CPU µs/event {statistics.median(cpu):.1f} {cpu}"
        )


if __name__ == "__main__":
    main()
