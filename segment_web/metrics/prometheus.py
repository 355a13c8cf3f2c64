"""A Prometheus collector for every client of the process (extra ``[prometheus]``).

One line at start-up::

    segment_web.metrics.prometheus.register()   # prometheus_client's default REGISTRY

Every sample has a ``write_key_prefix`` label (the write key's first characters).
Counters: ``segment_messages_accepted_total``, ``segment_messages_delivered_total``,
``segment_messages_dropped_total{reason}``, ``segment_messages_failed_total{error_type}``,
``segment_batches_delivered_total``, ``segment_batches_failed_total``,
``segment_batch_retries_total``. Gauges: ``segment_queue_size``,
``segment_queue_capacity``, ``segment_batches_in_flight``, ``segment_spool_bytes``,
``segment_spool_files``, ``segment_last_success_timestamp_seconds``,
``segment_last_failure_timestamp_seconds``, ``segment_delivery_failing_seconds``.
Histogram: ``segment_batch_duration_seconds``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from segment_web.metrics import stats_by_label

LABEL = "write_key_prefix"


class SegmentCollector(Collector):
    """Reads every live client's ``stats()`` at each scrape."""

    def collect(self) -> Iterator[Metric]:
        every = stats_by_label()

        def counter(name: str, doc: str, read: str) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=[LABEL])
            for label, stats in every.items():
                family.add_metric([label], getattr(stats, read))
            return family

        def gauge(name: str, doc: str, read: str) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=[LABEL])
            for label, stats in every.items():
                value = getattr(stats, read)
                if value is not None:
                    family.add_metric([label], value)
            return family

        yield counter("segment_messages_accepted", "Messages accepted by the calls", "accepted")
        yield counter("segment_messages_delivered", "Messages delivered", "delivered")
        dropped = CounterMetricFamily(
            "segment_messages_dropped", "Messages dropped, by reason", labels=[LABEL, "reason"]
        )
        failed = CounterMetricFamily(
            "segment_messages_failed",
            "Messages in batches that finally failed, by final HTTP status or 'network'",
            labels=[LABEL, "error_type"],
        )
        for label, stats in every.items():
            for reason, count in stats.dropped.items():
                dropped.add_metric([label, reason], count)
            for kind, count in stats.failures.items():
                failed.add_metric([label, kind], count)
        yield dropped
        yield failed
        yield counter("segment_batches_delivered", "Batches delivered", "delivered_batches")
        yield counter("segment_batches_failed", "Batches that finally failed", "failed_batches")
        yield counter("segment_batch_retries", "Attempts failed and tried again", "retried")
        yield gauge("segment_queue_size", "Messages waiting to be sent", "queue_depth")
        yield gauge("segment_queue_capacity", "max_queue_size", "queue_capacity")
        yield gauge("segment_batches_in_flight", "Batches being delivered", "batches_in_flight")
        yield gauge("segment_spool_bytes", "Bytes in the spool directory", "spool_bytes")
        yield gauge("segment_spool_files", "Files in the spool directory", "spool_files")
        yield gauge("segment_last_success_timestamp_seconds", "Last accepted POST", "last_success")
        yield gauge("segment_last_failure_timestamp_seconds", "Last failed POST", "last_failure")
        failing = GaugeMetricFamily(
            "segment_delivery_failing_seconds",
            "Seconds delivery has failed without a success in between",
            labels=[LABEL],
        )
        for label, stats in every.items():
            failing.add_metric([label], stats.failing_for())
        yield failing
        latency = HistogramMetricFamily(
            "segment_batch_duration_seconds",
            "Delivery of a batch, retries included",
            labels=[LABEL],
        )
        for label, stats in every.items():
            buckets: list[tuple[str, float]] = []
            total = 0
            for bound, count in zip(
                (*stats.latency_buckets, math.inf), stats.latency_counts, strict=True
            ):
                total += count
                buckets.append(("+Inf" if bound == math.inf else repr(bound), total))
            latency.add_metric([label], buckets, stats.latency_sum)
        yield latency


def register(registry: CollectorRegistry = REGISTRY) -> SegmentCollector:
    """Add the collector to ``registry`` (the default one unless given); returns it, for
    ``registry.unregister()``."""
    collector = SegmentCollector()
    registry.register(collector)
    return collector
