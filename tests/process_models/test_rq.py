"""A real RQ worker (forking a work horse per job) against fakeredis's TCP server runs
jobs enqueued from requests of a real Flask app: each job's event arrives once, with the
request's identity, though every horse ends with os._exit()."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fakeredis import TcpFakeServer
from redis import Redis

from segment_web.jobs.rq import Queue
from tests.process_models.flask_site import make_site
from tests.process_models.rq_jobs import record
from tests.process_models.servers import ChildProcess, free_port
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

JOBS = 60
PER_REQUEST = 10


@pytest.fixture
def redis_url() -> Iterator[str]:
    port = free_port()
    fake = TcpFakeServer(("127.0.0.1", port))
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"redis://127.0.0.1:{port}/0"
    fake.shutdown()
    fake.server_close()
    thread.join(10)


def visitor(number: int) -> tuple[str, str | None]:
    return f"anon-{number}", (f"user-{number}" if number % 2 else None)


def test_jobs_carry_the_request_identity_and_every_horse_flushes(
    redis_url: str, server: RecordingServer
) -> None:
    queue = Queue(connection=Redis.from_url(redis_url))
    site = make_site(server.url, lambda number: queue.enqueue(record, number) and None)
    for request_number in range(JOBS // PER_REQUEST):
        anonymous_id, user_id = visitor(request_number)
        client = site.test_client()
        client.set_cookie("ajs_anonymous_id", anonymous_id)
        query = {"first": request_number * PER_REQUEST, "count": PER_REQUEST}
        response = client.post("/enqueue", query_string={**query, "user": user_id or ""})
        assert response.status_code == 200
    queue.enqueue(record, JOBS, "system")  # outside any request: carries nothing

    worker = ChildProcess(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url,
         "--worker-class", "tests.process_models.rq_jobs.FakeRedisWorker"],
        {"SEGMENT_TEST_HOST": server.url},
    )  # fmt: skip
    try:
        assert worker.process.wait(120) == 0, worker.log  # --burst: ends when the queue is empty
    finally:
        worker.close()

    messages = server.wait_for(JOBS + 1, timeout=10)
    by_number = Counter(m["properties"]["number"] for m in messages)
    assert sorted(by_number) == list(range(JOBS + 1)) and set(by_number.values()) == {1}
    for message in messages:
        number = message["properties"]["number"]
        if number == JOBS:
            assert message["userId"] == "system" and "anonymousId" not in message
            continue
        anonymous_id, user_id = visitor(number // PER_REQUEST)
        assert message["anonymousId"] == anonymous_id
        assert message.get("userId") == user_id
        assert message["context"]["page"]["path"] == "/enqueue"
