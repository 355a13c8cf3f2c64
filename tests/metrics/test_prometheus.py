"""The Prometheus collector read through prometheus_client's text exposition."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from segment_web.metrics import prometheus
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer, Reply

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry, prefix: str) -> Samples:
    """Samples of the clients labelled ``prefix``: (name, other labels) -> value."""
    text = generate_latest(registry).decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if labels.pop(prometheus.LABEL, None) == prefix:
                found[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return found


def test_counters_gauges_and_histogram(make_client: MakeClient, server: RecordingServer) -> None:
    registry = CollectorRegistry()
    prometheus.register(registry)
    server.reply(Reply(status=503))
    client = make_client("promAAsecretsecret", max_queue_size=2, flush_at=100)
    for _ in range(3):
        client.track(user_id="u", event="e")
    before = scrape(registry, "promAA")
    assert before[("segment_queue_size", ())] == 2
    assert before[("segment_queue_capacity", ())] == 2
    assert before[("segment_messages_dropped_total", (("reason", "queue full"),))] == 1
    assert before[("segment_messages_accepted_total", ())] == 2
    client.flush()
    after = scrape(registry, "promAA")
    assert after[("segment_messages_delivered_total", ())] == 2
    assert after[("segment_batch_retries_total", ())] == 1
    assert after[("segment_batches_in_flight", ())] == 0
    assert after[("segment_batch_duration_seconds_count", ())] == 1
    assert after[("segment_batch_duration_seconds_bucket", (("le", "+Inf"),))] == 1
    assert after[("segment_delivery_failing_seconds", ())] == 0
    assert after[("segment_last_success_timestamp_seconds", ())] > 0


def test_failed_messages_by_status(make_client: MakeClient, server: RecordingServer) -> None:
    registry = CollectorRegistry()
    prometheus.register(registry)
    server.reply(Reply(status=400))
    client = make_client("promBBsecretsecret", error_handler=lambda e: None)
    client.track(user_id="u", event="e")
    client.flush()
    samples = scrape(registry, "promBB")
    assert samples[("segment_messages_failed_total", (("error_type", "400"),))] == 1
    assert samples[("segment_batches_failed_total", ())] == 1
    assert samples[("segment_delivery_failing_seconds", ())] >= 0
    assert samples[("segment_last_failure_timestamp_seconds", ())] > 0


def test_the_whole_key_is_never_exported(make_client: MakeClient) -> None:
    registry = CollectorRegistry()
    prometheus.register(registry)
    make_client("promCCsecretsecret").track(user_id="u", event="e")
    text = generate_latest(registry).decode()
    assert "promCCsecretsecret" not in text and 'write_key_prefix="promCC"' in text
