"""The job the RQ worker test runs; the work horse that imports it configures the client
from ``SEGMENT_TEST_HOST`` (the recording server)."""

from __future__ import annotations

import os
from typing import Any

import segment_web
from segment_web.jobs.rq import Worker

if "SEGMENT_TEST_HOST" in os.environ:  # the worker
    segment_web.configure(
        write_key="rq", host=os.environ["SEGMENT_TEST_HOST"], flush_at=500, flush_interval=600
    ).flushed = True  # nothing goes before a flush, not even the first message


def record(number: int, user_id: str | None = None) -> None:
    ids = {"user_id": user_id} if user_id else {}  # a job outside any request names its user
    segment_web.track(event="Job Ran", properties={"number": number}, **ids)


class FakeRedisWorker(Worker):
    """The worker under test, minus one start-up query: fakeredis answers CLIENT INFO in
    a form redis-py cannot parse (the worker only uses it to note its own address)."""

    def _set_ip_address(self, connection: Any) -> None:
        self.ip_address = "unknown"
