"""The Celery app of the worker tests: a filesystem broker (no server to run), one task
that tracks an event and notes that it ran.

The worker reads ``SEGMENT_TEST_BROKER`` (the broker's folder), ``SEGMENT_TEST_HOST``
(the recording server) and ``SEGMENT_TEST_RAN`` (a file each task appends its number to).
"""

from __future__ import annotations

import os

from celery import Celery

import segment_web
import segment_web.jobs.celery


def make_app(broker_folder: str) -> Celery:
    app = Celery("process_models")
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": broker_folder,
            "data_folder_out": broker_folder,
            # kombu's default is ./control in the working directory (the repository)
            "control_folder": os.path.join(broker_folder, "control"),
            "store_processed": False,
            "polling_interval": 0.05,
        },
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    segment_web.jobs.celery.install(app)
    return app


def record(number: int, user_id: str | None = None) -> None:
    ids = {"user_id": user_id} if user_id else {}  # a task outside any request names its user
    segment_web.track(event="Task Ran", properties={"number": number}, **ids)
    ran = os.open(os.environ["SEGMENT_TEST_RAN"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(ran, f"{number}\n".encode())
    finally:
        os.close(ran)


if "SEGMENT_TEST_BROKER" in os.environ:  # the worker process
    segment_web.configure(
        write_key="celery", host=os.environ["SEGMENT_TEST_HOST"], flush_at=500, flush_interval=600
    ).flushed = True  # nothing goes before a flush, not even the first message
    app = make_app(os.environ["SEGMENT_TEST_BROKER"])
    app.task(name="record")(record)
