"""RQ: jobs carry the request's identity, and work horses flush before they exit.

Enqueue through ``segment_web.jobs.rq.Queue`` and run ``segment_web.jobs.rq.Worker``::

    from redis import Redis
    from segment_web.jobs.rq import Queue

    queue = Queue(connection=Redis())
    queue.enqueue(send_receipt, order_id)       # inside a request: carries its identity

    # rq worker --worker-class segment_web.jobs.rq.Worker

A job enqueued during a request served by a segment_web adapter keeps, in its
``meta["segment_web"]``, the request's ``userId``, ``anonymousId`` and the context parts
named by ``Queue.context_keys`` (subclass to change them). While the job runs,
``segment_web.track(...)`` and ``segment_web.current()`` use a handle pre-filled with
them; explicit arguments still win.

RQ runs each job in a forked work horse that ends with ``os._exit()``, skipping
``atexit``: the worker flushes every client (bounded by ``shutdown_timeout``) before the
horse exits. A ``SimpleWorker`` runs jobs in its own process, whose exit flushes as usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import rq

from segment_web.core.handle import activate
from segment_web.jobs.identity import (
    DEFAULT_CONTEXT_KEYS,
    HEADER,
    handle_from_identity,
    identity_of_current_request,
)
from segment_web.process.registry import flush_live_clients

__all__ = ["Queue", "SimpleWorker", "Worker"]


class Queue(rq.Queue):
    """An RQ queue whose jobs, enqueued inside a request, carry the request's identity."""

    context_keys: tuple[str, ...] = DEFAULT_CONTEXT_KEYS

    def create_job(self, *args: Any, **kwargs: Any) -> rq.job.Job:
        identity = identity_of_current_request(self.context_keys)
        if identity is not None:
            meta = dict(kwargs.get("meta") or {})
            meta.setdefault(HEADER, identity)
            kwargs["meta"] = meta
        return super().create_job(*args, **kwargs)


class _IdentityMixin:
    # True in a work horse: RQ's documented entry point of the forked horse,
    # main_work_horse(), runs the job and then leaves through os._exit(), skipping atexit.
    _segment_in_work_horse = False

    def main_work_horse(self, job: rq.job.Job, queue: rq.Queue) -> None:
        self._segment_in_work_horse = True
        super().main_work_horse(job, queue)  # type: ignore[misc]

    def perform_job(self, job: rq.job.Job, *args: Any, **kwargs: Any) -> bool:
        meta = job.meta
        handle = handle_from_identity(meta.get(HEADER) if isinstance(meta, Mapping) else None)
        try:
            with activate(handle) if handle is not None else contextlib.nullcontext():
                done: bool = super().perform_job(job, *args, **kwargs)  # type: ignore[misc]
                return done
        finally:
            if self._segment_in_work_horse:
                flush_live_clients()  # the horse ends with os._exit() right after this


class Worker(_IdentityMixin, rq.Worker):
    """``rq.Worker`` that runs jobs with their request's identity and flushes each work
    horse before it exits."""

    queue_class = Queue


class SimpleWorker(_IdentityMixin, rq.SimpleWorker):
    """``rq.SimpleWorker`` (no fork) that runs jobs with their request's identity."""

    queue_class = Queue
