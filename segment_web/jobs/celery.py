"""Celery: tasks carry the request's identity, and pool processes flush when they end.

Usage, where the Celery app is made (after ``segment_web.configure(...)``, or in a
Django project whose ``INSTALLED_APPS`` has ``segment_web.django``)::

    from celery import Celery
    import segment_web.jobs.celery

    app = Celery("shop")
    segment_web.jobs.celery.install(app)

A task published during a request served by a segment_web adapter carries, in its
message headers, the request's ``userId``, ``anonymousId`` and the parts of its
``context`` named by ``context_keys`` (default: ip, userAgent, locale, page, campaign).
While the task runs, ``segment_web.track(...)`` and ``segment_web.current()`` use a
handle pre-filled with them (explicit arguments still win). Tasks published outside a
request carry nothing and use the configured client as usual.

Prefork pool processes end with ``os._exit()``, which skips ``atexit``; on Celery's
``worker_process_shutdown`` (a normal stop, a warm shutdown, ``--max-tasks-per-child``)
every client is flushed, bounded by its ``shutdown_timeout``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from celery import Celery, current_app, signals

from segment_web.core.handle import activate
from segment_web.jobs.identity import (
    DEFAULT_CONTEXT_KEYS,
    HEADER,
    handle_from_identity,
    identity_of_current_request,
)
from segment_web.process.registry import flush_live_clients

__all__ = ["DEFAULT_CONTEXT_KEYS", "install"]

_CONTEXT_KEYS_SETTING = "segment_web_context_keys"
# task id -> the active handle's exit; a pool process runs one task at a time per thread
_active: dict[str, contextlib.ExitStack] = {}


def install(app: Celery, *, context_keys: Iterable[str] = DEFAULT_CONTEXT_KEYS) -> None:
    """Carry request identities into ``app``'s tasks and flush when pool processes end."""
    app.conf[_CONTEXT_KEYS_SETTING] = tuple(context_keys)
    signals.before_task_publish.connect(_write_identity, weak=False, dispatch_uid=HEADER)
    signals.task_prerun.connect(_activate_identity, weak=False, dispatch_uid=HEADER)
    signals.task_postrun.connect(_deactivate_identity, weak=False, dispatch_uid=HEADER)
    signals.worker_process_shutdown.connect(_flush, weak=False, dispatch_uid=HEADER)


def _write_identity(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    keys = current_app.conf.get(_CONTEXT_KEYS_SETTING, DEFAULT_CONTEXT_KEYS)
    identity = identity_of_current_request(keys)
    if identity is not None:
        headers[HEADER] = identity


def _activate_identity(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    handle = handle_from_identity(getattr(request, HEADER, None))
    if handle is None or task_id is None:
        return
    stack = contextlib.ExitStack()
    stack.enter_context(activate(handle))
    _active[task_id] = stack


def _deactivate_identity(task_id: str | None = None, **_: Any) -> None:
    stack = _active.pop(task_id, None) if task_id is not None else None
    if stack is not None:
        stack.close()


def _flush(**_: Any) -> None:
    flush_live_clients()
