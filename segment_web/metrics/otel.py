"""OpenTelemetry metrics for every client of the process (extra ``[otel]``).

One line at start-up, after the application set up its ``MeterProvider``::

    segment_web.metrics.otel.instrument()

Instruments, in the style of the OpenTelemetry SDK's own metrics
(``otel.sdk.processor.*``), each with ``segment.write_key.prefix`` (the write key's
first characters):

- ``segment.client.queue.size`` / ``segment.client.queue.capacity`` {message}
- ``segment.client.message.accepted`` {message}
- ``segment.client.message.processed`` {message}: delivered (no ``error.type``), dropped
  (``error.type`` the reason: ``queue_full``, ``before_send``…) or failed (``error.type``
  the final HTTP status, or ``network``)
- ``segment.client.batch.inflight`` {batch}, ``segment.client.batch.retries`` {attempt}
- ``segment.client.batch.duration`` (s): histogram of each batch's delivery, retries
  included; ``error.type`` on a batch that finally failed
- ``segment.client.spool.size`` (By), for clients with a ``spool_dir``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

from segment_web.delivery import stats as stats_module
from segment_web.delivery.stats import LATENCY_BUCKETS, DeliveryStats, Stats
from segment_web.metrics import error_type, stats_by_label
from segment_web.version import VERSION

LABEL = "segment.write_key.prefix"


class Instrumentation:
    """The instruments ``instrument()`` made; ``close()`` stops their reports."""

    def __init__(self, meter_provider: MeterProvider | None) -> None:
        meter = metrics.get_meter("segment_web", VERSION, meter_provider)
        self.closed = False

        def observe(read: Read) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def callback(options: CallbackOptions) -> Iterable[Observation]:
                if self.closed:
                    return []
                return [o for label, s in stats_by_label().items() for o in read(label, s)]

            return callback

        for name, up_down, read, unit, description in _OBSERVED:
            create = (
                meter.create_observable_up_down_counter
                if up_down
                else meter.create_observable_counter
            )
            create(name, [observe(read)], unit=unit, description=description)
        self._duration = meter.create_histogram(
            "segment.client.batch.duration",
            unit="s",
            description="Delivery of a batch, retries included",
            explicit_bucket_boundaries_advisory=list(LATENCY_BUCKETS),
        )
        stats_module.batch_listeners.append(self._record)

    def _record(self, stats: DeliveryStats, seconds: float, error: str | None) -> None:
        attributes = {LABEL: stats.label}
        if error is not None:
            attributes["error.type"] = error
        self._duration.record(seconds, attributes)

    def close(self) -> None:
        """Stop reporting (instruments cannot be removed from a meter: they go quiet)."""
        self.closed = True
        if self._record in stats_module.batch_listeners:
            stats_module.batch_listeners.remove(self._record)


Read = Callable[[str, Stats], Iterable[Observation]]


def _figure(value: Callable[[Stats], int]) -> Read:
    """One figure of a client's stats, labelled with its write key."""

    def read(label: str, stats: Stats) -> list[Observation]:
        return [Observation(value(stats), {LABEL: label})]

    return read


def _processed(label: str, stats: Stats) -> list[Observation]:
    found = [Observation(stats.delivered, {LABEL: label})]
    for reason, count in stats.dropped.items():
        found.append(Observation(count, {LABEL: label, "error.type": error_type(reason)}))
    for kind, count in stats.failures.items():
        found.append(Observation(count, {LABEL: label, "error.type": kind}))
    return found


def _spool(label: str, stats: Stats) -> list[Observation]:
    if stats.spool_bytes is None:
        return []
    return [Observation(stats.spool_bytes, {LABEL: label})]


# name, whether it may go down (an up-down counter) or only up, what it reads, unit,
# description.
_OBSERVED: tuple[tuple[str, bool, Read, str, str], ...] = (
    (
        "segment.client.queue.size",
        True,
        _figure(lambda s: s.queue_depth),
        "{message}",
        "Messages waiting to be sent",
    ),
    (
        "segment.client.queue.capacity",
        True,
        _figure(lambda s: s.queue_capacity),
        "{message}",
        "Messages the queue holds before it drops (max_queue_size)",
    ),
    (
        "segment.client.message.accepted",
        False,
        _figure(lambda s: s.accepted),
        "{message}",
        "Messages accepted by the calls",
    ),
    (
        "segment.client.message.processed",
        False,
        _processed,
        "{message}",
        "Messages delivered, dropped or failed (error.type says which)",
    ),
    (
        "segment.client.batch.inflight",
        True,
        _figure(lambda s: s.batches_in_flight),
        "{batch}",
        "Batches being delivered",
    ),
    (
        "segment.client.batch.retries",
        False,
        _figure(lambda s: s.retried),
        "{attempt}",
        "Attempts that failed and were tried again",
    ),
    ("segment.client.spool.size", True, _spool, "By", "Bytes in the spool directory"),
)


def instrument(meter_provider: MeterProvider | None = None) -> Instrumentation:
    """Report every client's stats through OpenTelemetry (the global ``MeterProvider``
    unless one is given). Call it once per provider."""
    return Instrumentation(meter_provider)
