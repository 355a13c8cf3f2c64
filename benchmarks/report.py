"""Assemble benchmarks/README.md from the latest results in benchmarks/results/."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = (
    ("distance", "python -m benchmarks.distance.run"),
    ("summary", ""),
    ("core", "python -m benchmarks.core.run"),
    ("django", "python -m benchmarks.django.run"),
    ("flask", "python -m benchmarks.flask.run"),
    ("asgi", "python -m benchmarks.asgi.run"),
    ("asgi_loop_lag", "python -m benchmarks.asgi.loop_lag"),
    ("plan", "python -m benchmarks.plan.run"),
)
INTRO = """# Benchmarks

Run them all with `make bench` (about 15 minutes on 2 cores; run nothing else meanwhile),
or one with the command under its heading. Each writes `results/<name>.md`; this page
is assembled from those files by `benchmarks/report.py`. All traffic stays on 127.0.0.1.

- **distance** (first: the condition every production app is in): each library with
  its default options against a server that answers every POST after 5, 50, 100 or
  150 ms, at offered rates from 1,000 to 20,000 events/s paced evenly: delivered,
  dropped, time to drain after the last call, CPU per event, RSS.
- **core** (loopback): `segment_web` against `segment-analytics-python`, each in a
  fresh process, against one local server that answers at once: a burst of `track()`
  calls, end-to-end delivery, an outage, shutdown, and the ceiling of any
  `requests`-based client. Targets are ratios to `segment-analytics-python` in the same
  run. `segment_web` also runs each scenario with a `spool_dir` (durable delivery),
  compared with itself in a table of its own.
- **django**, **flask**, **asgi**: what each adapter adds to a request as the server
  feels it (every thread, the delivery of the request's own events included), for an
  HTML page with its automatic page call and a JSON endpoint that tracks one event
  (target: under 50 µs added, wall and CPU). The method is in
  `benchmarks/adapter_bench.py`.
"""


def main() -> None:
    parts = [INTRO]
    for name, command in SECTIONS:
        result = HERE / "results" / f"{name}.md"
        if not result.exists():
            continue
        text = result.read_text(encoding="utf-8").strip()
        # Each result starts with its own "# Title": demote every heading one level.
        lines = [f"#{line}" if line.startswith("#") else line for line in text.splitlines()]
        run = f"\n\nRun: `{command}`\n" if command else "\n"
        parts.append("\n".join(lines) + run)
    (HERE / "README.md").write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
