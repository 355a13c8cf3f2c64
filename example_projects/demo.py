"""The main job: ``make demo``.

Starts the local collector, runs each example shop (Django, Flask, FastAPI) as a real
HTTP server, sends a visitor and a new user through it, stops it (its client flushes
at exit), then prints what the collector received, app by app. The collector judges
every event against a small tracking plan (``tracking_plan.json``), as a staging
collector would, and the events that break it are marked.

Each run starts from an empty ``demo.sqlite3`` in the collector's cache directory; when
an earlier run left events there, the first lines say how many were deleted. The last
line gives the command (with the Python running the demo) to browse them afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from segment_web.collector import Collector
from segment_web.collector.hints import python_command, shown_path
from segment_web.collector.store import StoredEvent, default_db_path
from segment_web.collector.violations import PlanFlags

APPS = ("django", "flask", "fastapi")
EXPECTED_PER_APP = 8  # see drive(): 3 messages from the visitor, 5 from the new user
ROOT = Path(__file__).resolve().parent.parent
PLAN = Path(__file__).with_name("tracking_plan.json")


def main() -> int:
    db_path = default_db_path().with_name("demo.sqlite3")
    plan = PlanFlags(PLAN)
    with Collector(db_path, plan=plan) as collector:
        earlier = collector.store.clear()
        print(f"Collector listening on {collector.url} (SQLite: {db_path})")
        if earlier:
            print(f"  (deleted the {earlier} events an earlier run left there)")
        print()
        failures = []
        for app in APPS:
            try:
                run_app(app, collector.url)
            except Exception as error:  # show every app's outcome, then fail
                failures.append(f"{app}: {error}")
        arrived = wait_for_events(collector, len(APPS) * EXPECTED_PER_APP, timeout=15)
        for app in APPS:
            show(app, [e for e in arrived if e.write_key == f"{app}-example"])
    print(f"\n{len(arrived)} events arrived from {len(APPS)} apps.")
    breaking = [event for event in arrived if event.violations]
    print(
        f"{len(breaking)} of them break the tracking plan {plan.plan.name!r} "
        f"({PLAN.relative_to(ROOT)}), marked ✗ above."
    )
    print(
        "Browse them in the collector's page: "
        f"{python_command()} -m segment_web.collector --db {shown_path(db_path)} "
        f"--plan {shown_path(PLAN)}  →  http://127.0.0.1:8765"
    )
    missing = len(APPS) * EXPECTED_PER_APP - len(arrived)
    if missing > 0:
        failures.append(f"{missing} expected events did not arrive")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_app(app: str, collector_url: str) -> None:
    port = free_port()
    print(f"Running the {app} shop on http://127.0.0.1:{port} …")
    with serving(app, port, collector_url):
        drive(f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def serving(app: str, port: int, collector_url: str) -> Iterator[None]:
    """The example app in its own process; stopped gracefully, so its atexit flush runs."""
    env = {**os.environ, "SEGMENT_HOST": collector_url, "PYTHONPATH": str(ROOT)}
    env.pop("SEGMENT_WRITE_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", f"example_projects.{app}_shop", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(port, process, timeout=30)
        yield
    finally:
        process.terminate()  # SIGTERM: a graceful stop, and not ignored in background jobs
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def drive(base: str) -> None:
    """A returning visitor (classic analytics.js cookie) and a new user who signs up."""
    headers = {"User-Agent": "segment-web-demo/1.0 (+make demo)", "Accept-Language": "en-GB,en"}
    visitor = requests.Session()
    visitor.headers.update(headers)
    visitor.cookies.set("ajs_anonymous_id", "%22demo-visitor-1%22")
    check(visitor.get(f"{base}/?utm_source=newsletter&utm_campaign=autumn"))
    check(visitor.get(f"{base}/products/2", headers={"Referer": f"{base}/"}))
    check(visitor.post(f"{base}/api/cart", json={"product": "2"}))

    newcomer = requests.Session()
    newcomer.headers.update(headers)
    check(newcomer.get(f"{base}/"))  # the middleware gives them an ajs_anonymous_id cookie
    check(newcomer.post(f"{base}/api/signup", json={"email": "ada@example.com"}))
    check(newcomer.get(f"{base}/products/1"))
    check(newcomer.post(f"{base}/api/cart", json={"product": "1"}))


def check(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.url} → {response.status_code}")


def show(app: str, events: list[StoredEvent]) -> None:
    print(f"\n── {app} ({len(events)} events) " + "─" * 70)
    print(f"  {'type':<9} {'event/name':<14} {'userId':<16} {'anonymousId':<37} {'ip':<10} page")
    for event in sorted(events, key=lambda e: e.id):
        context = event.message.get("context", {})
        page = context.get("page", {})
        notes = [f"{key}={value}" for key, value in context.get("campaign", {}).items()]
        if "referrer" in page:
            notes.append(f"referrer={page['referrer']}")
        print(
            f"  {event.type:<9} {event.event_or_name or '':<14} {event.user_id or '-':<16}"
            f" {event.anonymous_id or '-':<37} {context.get('ip', '-'):<10}"
            f" {page.get('path', '-')}  {' '.join(notes)}".rstrip()
        )
        for flag in event.violations or []:
            print(f"  {'':<9} ✗ {flag['path']}: {flag['rule']}")
    if events:
        context = events[0].message.get("context", {})
        agent, locale = context.get("userAgent"), context.get("locale")
        print(f"  every event: userAgent={agent!r} locale={locale!r}")


def wait_for_events(collector: Collector, count: int, timeout: float) -> list[StoredEvent]:
    deadline = time.monotonic() + timeout
    while collector.store.count() < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return collector.events(limit=1000)


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the app did not start serving within {timeout}s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
