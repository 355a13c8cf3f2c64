"""Metrics exporters: every live client's ``stats()``, for OpenTelemetry or Prometheus.

- ``segment_web.metrics.otel.instrument()`` (extra ``[otel]``)
- ``segment_web.metrics.prometheus.register()`` (extra ``[prometheus]``)

Each covers every client of the process, labelled by the first characters of its write
key (never the whole key); clients with the same label are added together.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from segment_web.core.client import Analytics
from segment_web.delivery.stats import Stats, key_label
from segment_web.process.registry import live_clients


def error_type(reason: str) -> str:
    """A drop reason as an ``error.type`` value: ``"queue full"`` → ``"queue_full"``."""
    return re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_")


def stats_by_label() -> dict[str, Stats]:
    """The stats of the live clients not shut down, added together per label."""
    found: dict[str, Stats] = {}
    for client in live_clients():
        if isinstance(client, Analytics) and not client.closed:
            label = key_label(client.write_key)  # as the client's DeliveryStats.label
            stats = client.stats()
            found[label] = _add(found[label], stats) if label in found else stats
    return found


def _add(a: Stats, b: Stats) -> Stats:
    def latest(x: float | None, y: float | None) -> float | None:
        return max((v for v in (x, y) if v is not None), default=None)

    def plus(x: int | None, y: int | None) -> int | None:
        return None if x is None and y is None else (x or 0) + (y or 0)

    failing = [v for v in (a.failing_since, b.failing_since) if v is not None]
    return replace(
        a,
        accepted=a.accepted + b.accepted,
        delivered=a.delivered + b.delivered,
        dropped=dict(Counter(a.dropped) + Counter(b.dropped)),
        failed=a.failed + b.failed,
        failed_batches=a.failed_batches + b.failed_batches,
        delivered_batches=a.delivered_batches + b.delivered_batches,
        retried=a.retried + b.retried,
        batches_in_flight=a.batches_in_flight + b.batches_in_flight,
        queue_depth=a.queue_depth + b.queue_depth,
        queue_capacity=a.queue_capacity + b.queue_capacity,
        spool_bytes=plus(a.spool_bytes, b.spool_bytes),
        spool_files=plus(a.spool_files, b.spool_files),
        last_success=latest(a.last_success, b.last_success),
        last_failure=latest(a.last_failure, b.last_failure),
        failing_since=min(failing, default=None),
        latency_counts=tuple(
            x + y for x, y in zip(a.latency_counts, b.latency_counts, strict=True)
        ),
        latency_sum=a.latency_sum + b.latency_sum,
        enabled=a.enabled or b.enabled,
        failures=dict(Counter(a.failures) + Counter(b.failures)),
    )
