"""The OpenTelemetry exporter read through the SDK's in-memory metric reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from segment_web.metrics import otel
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer, Reply


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentation = otel.instrument(provider)
    yield reader
    instrumentation.close()
    provider.shutdown()


def points(reader: InMemoryMetricReader, prefix: str) -> dict[str, list[Any]]:
    """Each metric's data points that belong to clients labelled ``prefix``."""
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    if data is None:  # nothing reported at all
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    if point.attributes.get(otel.LABEL) == prefix:
                        found.setdefault(metric.name, []).append(point)
    return found


def by_error(seen: dict[str, list[Any]]) -> dict[str | None, int]:
    processed = seen["segment.client.message.processed"]
    return {p.attributes.get("error.type"): p.value for p in processed}


def test_queue_and_processed_messages(
    reader: InMemoryMetricReader, make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client("otelAAsecretsecret", max_queue_size=3, flush_at=100)
    for _ in range(5):
        client.track(user_id="u", event="e")
    seen = points(reader, "otelAA")
    assert [p.value for p in seen["segment.client.queue.size"]] == [3]
    assert [p.value for p in seen["segment.client.queue.capacity"]] == [3]
    assert [p.value for p in seen["segment.client.message.accepted"]] == [3]
    processed = by_error(seen)
    assert processed == {None: 0, "queue_full": 2}
    assert "segment.client.spool.size" not in seen

    client.flush()
    seen = points(reader, "otelAA")
    processed = by_error(seen)
    assert processed == {None: 3, "queue_full": 2}
    assert [p.value for p in seen["segment.client.queue.size"]] == [0]
    (duration,) = seen["segment.client.batch.duration"]
    assert duration.count == 1 and duration.sum > 0
    assert "error.type" not in duration.attributes


def test_failures_carry_the_status(
    reader: InMemoryMetricReader, make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=500), Reply(status=500))
    client = make_client("otelBBsecretsecret", max_retries=1, error_handler=lambda e: None)
    client.track(user_id="u", event="e")
    client.flush()
    seen = points(reader, "otelBB")
    processed = by_error(seen)
    assert processed == {None: 0, "500": 1}
    assert [p.value for p in seen["segment.client.batch.retries"]] == [1]
    (duration,) = seen["segment.client.batch.duration"]
    assert duration.attributes["error.type"] == "500"


def test_the_whole_key_is_never_exported(
    reader: InMemoryMetricReader, make_client: MakeClient
) -> None:
    key = "otelCCsecretsecret"
    make_client(key).track(user_id="u", event="e")
    assert key not in repr(reader.get_metrics_data())
    assert points(reader, "otelCC")["segment.client.queue.size"][0].value == 1


def test_clients_with_one_label_are_added(
    reader: InMemoryMetricReader, make_client: MakeClient
) -> None:
    make_client("otelDDone-secret").track(user_id="u", event="e")
    make_client("otelDDtwo-secret").track(user_id="u", event="e")
    assert [p.value for p in points(reader, "otelDD")["segment.client.queue.size"]] == [2]


def test_closed_instrumentation_goes_quiet(make_client: MakeClient) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    otel.instrument(provider).close()
    make_client("otelEEsecretsecret").track(user_id="u", event="e")
    assert points(reader, "otelEE") == {}
    provider.shutdown()
