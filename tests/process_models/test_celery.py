"""A real Celery worker (prefork pool, 2 processes, filesystem broker) runs tasks
published from requests of a real Flask app: each task's event arrives once, with the
request's identity, however the pool processes end."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process_models.celery_app import make_app
from tests.process_models.flask_site import make_site
from tests.process_models.servers import ChildProcess, wait_until
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

TASKS = 200
PER_REQUEST = 10


def visitor(number: int) -> tuple[str, str | None]:
    """Request ``number``'s anonymous id and user id (every other visitor is logged in)."""
    return f"anon-{number}", (f"user-{number}" if number % 2 else None)


@pytest.fixture
def broker(tmp_path: Path) -> Path:
    folder = tmp_path / "broker"
    folder.mkdir()
    return folder


def publish_from_requests(broker: Path, server: RecordingServer) -> None:
    publisher = make_app(str(broker))
    site = make_site(server.url, lambda number: publisher.send_task("record", args=[number]))
    for request_number in range(TASKS // PER_REQUEST):
        anonymous_id, user_id = visitor(request_number)
        client = site.test_client()
        client.set_cookie("ajs_anonymous_id", anonymous_id)
        query: dict[str, Any] = {"first": request_number * PER_REQUEST, "count": PER_REQUEST}
        if user_id:
            query["user"] = user_id
        response = client.post("/enqueue", query_string=query, headers={"User-Agent": "ua"})
        assert response.status_code == 200
    # one task published outside any request: it carries nothing
    publisher.send_task("record", args=[TASKS, "system"])


@pytest.fixture
def start_worker(broker: Path, server: RecordingServer, tmp_path: Path) -> Iterator[Any]:
    started: list[ChildProcess] = []
    ran = tmp_path / "ran.txt"

    def start(*extra: str) -> tuple[ChildProcess, Path]:
        command = [
            sys.executable, "-m", "celery", "-A", "tests.process_models.celery_app", "worker",
            "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle", *extra,
        ]  # fmt: skip
        env = {
            "SEGMENT_TEST_BROKER": str(broker),
            "SEGMENT_TEST_HOST": server.url,
            "SEGMENT_TEST_RAN": str(ran),
        }
        child = ChildProcess(command, env)
        started.append(child)
        return child, ran

    yield start
    for child in started:
        child.close()


def ran_count(ran: Path) -> int:
    return len(ran.read_text().split()) if ran.exists() else 0


def check_every_event(server: RecordingServer) -> None:
    messages = server.wait_for(TASKS + 1, timeout=20)
    by_number = Counter(m["properties"]["number"] for m in messages)
    assert sorted(by_number) == list(range(TASKS + 1))
    assert set(by_number.values()) == {1}, [n for n, c in by_number.items() if c > 1]
    for message in messages:
        number = message["properties"]["number"]
        if number == TASKS:  # published outside a request
            assert message["userId"] == "system" and "anonymousId" not in message
            assert "userAgent" not in message["context"]
            continue
        anonymous_id, user_id = visitor(number // PER_REQUEST)
        assert message["anonymousId"] == anonymous_id
        assert message.get("userId") == user_id
        assert message["context"]["userAgent"] == "ua"
        assert message["context"]["page"]["path"] == "/enqueue"


def test_tasks_carry_the_request_identity_and_a_warm_shutdown_loses_nothing(
    broker: Path, server: RecordingServer, start_worker: Any
) -> None:
    publish_from_requests(broker, server)
    worker, ran = start_worker()
    wait_until(lambda: ran_count(ran) == TASKS + 1, 90, "every task to run", lambda: worker.log)
    code, took = worker.stop(signal.SIGTERM)  # Celery's warm shutdown
    assert code == 0, worker.log
    check_every_event(server)
    assert took < 15, worker.log


def test_pool_processes_replaced_by_max_tasks_per_child_flush_as_they_go(
    broker: Path, server: RecordingServer, start_worker: Any
) -> None:
    publish_from_requests(broker, server)
    worker, ran = start_worker("--max-tasks-per-child", "10")
    wait_until(lambda: ran_count(ran) == TASKS + 1, 120, "every task to run", lambda: worker.log)
    # Each replaced process flushed as it ended: only the two live ones still hold events
    # (at most 9 each), though nothing was stopped yet.
    server.wait_for(TASKS + 1 - 2 * 9, timeout=20)
    code, _ = worker.stop(signal.SIGTERM)
    assert code == 0, worker.log
    check_every_event(server)
