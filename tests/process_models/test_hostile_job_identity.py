"""A job's identity header is untrusted: whatever a Celery header or an RQ meta holds,
the job's ``track()`` does not fail because of it. Each bad field is left out (and
logged, naming it); the rest of the identity is used. Real Celery (a prefork worker on a
filesystem broker) and real RQ (a worker on fakeredis), as the other job tests run them.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakeredis import FakeStrictRedis

from segment_web.jobs.identity import HEADER
from segment_web.jobs.rq import Queue, SimpleWorker
from segment_web.testing import CapturedEvents
from tests.process_models.celery_app import make_app
from tests.process_models.rq_jobs import record
from tests.process_models.servers import ChildProcess, wait_until
from tests.support.recording_server import RecordingServer

IP = "203.0.113.9"
MEGABYTE = 1024 * 1024


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


@dataclass
class Case:
    """A hostile identity, what the event must carry, and the field the log must name."""

    name: str
    identity: dict[Any, Any]
    dropped: str
    sent: dict[str, Any] = field(default_factory=dict)  # userId/anonymousId expected
    context: dict[str, Any] = field(default_factory=lambda: {"ip": IP})
    json_safe: bool = True  # Celery's headers travel as JSON; RQ's meta is pickled


CASES = [
    Case("user id a list", {"userId": ["u1"], "anonymousId": "anon-1"}, "userId",
         {"anonymousId": "anon-1"}),
    Case("user id a dict", {"userId": {"id": 1}, "anonymousId": "anon-1"}, "userId",
         {"anonymousId": "anon-1"}),
    Case("user id a bool", {"userId": True, "anonymousId": "anon-1"}, "userId",
         {"anonymousId": "anon-1"}),
    Case("user id NaN", {"userId": math.nan, "anonymousId": "anon-1"}, "userId",
         {"anonymousId": "anon-1"}),
    Case("user id of 1 MB", {"userId": "u" * MEGABYTE, "anonymousId": "anon-1"}, "userId",
         {"anonymousId": "anon-1"}),
    Case("anonymous id of 1 MB", {"userId": "u1", "anonymousId": "a" * MEGABYTE},
         "anonymousId", {"userId": "u1"}),
    Case("context of 100 KB", {"userId": "u1", "context": {"page": {"title": "t" * 100_000}}},
         "context.page", {"userId": "u1"}),
    Case("context 200 deep", {"userId": "u1", "context": {"page": nested(200)}},
         "context.page", {"userId": "u1"}),
    Case("context not a mapping", {"userId": "u1", "context": ["ip", IP]}, "context",
         {"userId": "u1"}, context={}),
    Case("context keys that collide", {"userId": "u1", "context": {"page": {1: "a", "1": "b"}}},
         "context.page", {"userId": "u1"}, json_safe=False),
    Case("context with a key no string", {"userId": "u1", "context": {7: "seven"}},
         "a context key of type int", {"userId": "u1"}, json_safe=False),
]  # fmt: skip


def with_ip(case: Case) -> dict[Any, Any]:
    """The case's identity; where it has a context mapping, a good ``ip`` beside the bad."""
    identity = dict(case.identity)
    context = identity.get("context", {})
    if isinstance(context, dict):
        identity["context"] = {"ip": IP, **context}
    return identity


def check_event(case: Case, message: dict[str, Any]) -> None:
    for key in ("userId", "anonymousId"):
        assert message.get(key) == case.sent.get(key), (case.name, key)
    context = {key: message["context"].get(key) for key in ("ip", "page", "campaign")}
    expected = {"ip": None, "page": None, "campaign": None, **case.context}
    assert context == expected, case.name


def test_a_nan_in_the_context_is_sent_as_null(
    rq_redis: FakeStrictRedis, segment_events: CapturedEvents
) -> None:
    identity = {"userId": "u1", "context": {"ip": IP, "locale": math.nan}}
    job = Queue(connection=rq_redis).enqueue(record, 0, meta={HEADER: identity})
    assert run_rq(rq_redis) and job.get_status() == "finished"
    (message,) = segment_events
    assert message["context"]["locale"] is None and message["context"]["ip"] == IP


# RQ ------------------------------------------------------------------------------------


class InProcessWorker(SimpleWorker):
    """segment_web's RQ worker, in this process; fakeredis has no CLIENT INFO to note
    the worker's address with."""

    def _set_ip_address(self, connection: Any) -> None:
        self.ip_address = "unknown"


@pytest.fixture
def rq_redis(client_for_jobs: None) -> Iterator[FakeStrictRedis]:
    connection = FakeStrictRedis()
    yield connection
    connection.flushall()


@pytest.fixture
def client_for_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import segment_web
    from segment_web import api as module_api

    monkeypatch.setattr(module_api, "_default", None)
    analytics = segment_web.configure(
        write_key="jobs", host="http://127.0.0.1:9", flush_on_signals=False
    )
    yield
    analytics.shutdown(timeout=0)


def run_rq(connection: FakeStrictRedis) -> bool:
    worker = InProcessWorker([Queue(connection=connection)], connection=connection)
    return bool(worker.work(burst=True, with_scheduler=False))


def test_rq_jobs_run_and_track_whatever_their_meta_holds(
    rq_redis: FakeStrictRedis, segment_events: CapturedEvents, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=rq_redis)
    jobs = [
        queue.enqueue(record, number, meta={HEADER: with_ip(case)})
        for number, case in enumerate(CASES)
    ]
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        assert run_rq(rq_redis)
    assert [job.get_status() for job in jobs] == ["finished"] * len(CASES), [
        job.exc_info for job in jobs
    ]
    by_number = {message["properties"]["number"]: message for message in segment_events}
    assert sorted(by_number) == list(range(len(CASES)))
    logged = [r.getMessage() for r in caplog.records if r.name == "segment_web"]
    for number, case in enumerate(CASES):
        check_event(case, by_number[number])
        assert any(f"a job's identity: {case.dropped} dropped: " in line for line in logged), (
            case.name,
            logged,
        )
    assert all(len(line) < 500 for line in logged)  # the hostile values are not logged


def test_an_rq_meta_that_is_no_mapping_runs_without_identity(
    rq_redis: FakeStrictRedis, segment_events: CapturedEvents
) -> None:
    job = Queue(connection=rq_redis).enqueue(record, 0, "system")
    job.meta = ["not", "a", "mapping"]  # type: ignore[assignment]
    job.save_meta()  # type: ignore[no-untyped-call]
    assert run_rq(rq_redis)
    assert job.get_status() == "finished", job.exc_info
    (message,) = segment_events
    assert message["userId"] == "system" and "anonymousId" not in message


# Celery --------------------------------------------------------------------------------


@pytest.mark.slow
def test_celery_tasks_run_and_track_whatever_their_headers_hold(
    tmp_path: Path, server: RecordingServer
) -> None:
    broker = tmp_path / "broker"
    broker.mkdir()
    ran = tmp_path / "ran.txt"
    cases = [case for case in CASES if case.json_safe]
    publisher = make_app(str(broker))
    for number, case in enumerate(cases):
        publisher.send_task("record", args=[number], headers={HEADER: with_ip(case)})
    worker = ChildProcess(
        [sys.executable, "-m", "celery", "-A", "tests.process_models.celery_app", "worker",
         "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        {"SEGMENT_TEST_BROKER": str(broker), "SEGMENT_TEST_HOST": server.url,
         "SEGMENT_TEST_RAN": str(ran)},
    )  # fmt: skip
    try:
        wait_until(
            lambda: ran.exists() and len(ran.read_text().split()) == len(cases),
            90,
            "every task to run",
            lambda: worker.log,
        )
        code, _ = worker.stop(signal.SIGTERM)
        assert code == 0, worker.log
        log = worker.log
    finally:
        worker.close()
    assert "Traceback" not in log, log
    by_number = {m["properties"]["number"]: m for m in server.wait_for(len(cases), timeout=20)}
    assert sorted(by_number) == list(range(len(cases)))
    for number, case in enumerate(cases):
        check_event(case, by_number[number])
        assert f"a job's identity: {case.dropped} dropped: " in log, (case.name, log)
