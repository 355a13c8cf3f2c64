"""Constructor options: defaults, validation naming the option, host normalisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from segment_web import Analytics
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer


@pytest.fixture
def idle_client() -> Iterator[Analytics]:
    client = Analytics("key")
    yield client
    client.shutdown(timeout=1.0)


def test_defaults(idle_client: Analytics) -> None:
    client = idle_client
    assert client.write_key == "key"
    assert client.endpoint == "https://api.segment.io/v1/batch"
    assert client.flush_at == 20
    assert client.flush_interval == 10.0
    assert client.enable is True
    assert client.error_handler is None
    assert client.max_queue_size == 10_000
    assert client.max_retries == 10
    assert client.timeout == 15.0
    assert client.gzip is True
    assert client.shutdown_timeout == 5.0
    assert client.flushed is False


@pytest.mark.parametrize("bad", [None, "", "   ", 123, b"key", ["key"]])
def test_write_key_must_be_a_non_empty_string(bad: Any) -> None:
    with pytest.raises(ValueError, match="write_key"):
        Analytics(bad)


def test_write_key_missing_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="write_key"):
        Analytics()


@pytest.mark.parametrize(
    ("option", "bad"),
    [
        ("flush_at", "5"),
        ("flush_at", 2.5),
        ("flush_interval", -1),
        ("flush_interval", float("nan")),
        ("flush_interval", "10"),
        ("enable", "yes"),
        ("enable", 1),
        ("error_handler", "log"),
        ("max_queue_size", 0),
        ("max_queue_size", True),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("timeout", 0),
        ("timeout", float("inf")),
        ("gzip", None),
        ("shutdown_timeout", -0.5),
        ("max_batch_size", 0),
        ("max_batch_size", "50"),
        ("max_in_flight", 0),
        ("max_in_flight", 2.5),
        ("on_queue_full", "wait"),
        ("on_queue_full", None),
        ("block_timeout", -1),
        ("block_timeout", float("nan")),
        ("host", ""),
        ("host", 42),
        ("host", "ftp://api.segment.io"),
    ],
)
def test_bad_option_is_a_value_error_naming_it(option: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=option):
        Analytics("key", **{option: bad})


def test_max_batch_size_defaults_to_500_and_is_never_below_flush_at(
    make_client: MakeClient,
) -> None:
    assert make_client(flush_at=7).max_batch_size == 500
    assert make_client(flush_at=7, max_batch_size=50).max_batch_size == 50
    # a batch due at flush_at goes whole
    assert make_client(flush_at=600).max_batch_size == 600
    assert make_client(flush_at=20, max_batch_size=10).max_batch_size == 20


def test_a_bad_on_queue_full_names_the_choices() -> None:
    with pytest.raises(ValueError, match="on_queue_full must be one of 'drop', 'block'"):
        Analytics("key", on_queue_full="wait")  # type: ignore[arg-type]


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="flushAt"):
        Analytics("key", flushAt=5)  # type: ignore[call-arg]


@pytest.mark.parametrize("flush_at", [0, -3])
def test_flush_at_below_one_becomes_one(make_client: MakeClient, flush_at: int) -> None:
    assert make_client(flush_at=flush_at).flush_at == 1


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        ("api.segment.io", "https://api.segment.io/v1/batch"),
        ("api.segment.io/v1", "https://api.segment.io/v1/batch"),
        ("api.segment.io/v1/", "https://api.segment.io/v1/batch"),
        ("https://api.segment.io", "https://api.segment.io/v1/batch"),
        ("https://api.segment.io/", "https://api.segment.io/v1/batch"),
        ("https://events.eu1.segmentapis.com/v1/", "https://events.eu1.segmentapis.com/v1/batch"),
        ("https://events.eu1.segmentapis.com/v1", "https://events.eu1.segmentapis.com/v1/batch"),
        ("events.eu1.segmentapis.com", "https://events.eu1.segmentapis.com/v1/batch"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/v1/batch"),
        ("http://127.0.0.1:8123/", "http://127.0.0.1:8123/v1/batch"),
        ("http://127.0.0.1:8123/v1", "http://127.0.0.1:8123/v1/batch"),
        ("10.0.0.5:8123/v1/", "https://10.0.0.5:8123/v1/batch"),
        ("https://proxy.example.com/segment/v1/", "https://proxy.example.com/segment/v1/batch"),
        ("https://api.segment.io/v1/batch", "https://api.segment.io/v1/batch"),
    ],
)
def test_every_host_form_resolves_to_the_batch_endpoint(host: str, endpoint: str) -> None:
    client = Analytics("key", host=host)
    try:
        assert client.endpoint == endpoint
    finally:
        client.shutdown()


@pytest.mark.parametrize("host_form", ["{url}", "{url}/", "{url}/v1", "{url}/v1/"])
def test_each_local_host_form_posts_to_v1_batch(
    make_client: MakeClient, server: RecordingServer, host_form: str
) -> None:
    client = make_client(host=host_form.format(url=server.url))
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    assert [r.path for r in server.requests] == ["/v1/batch"]


def test_flushed_is_settable(make_client: MakeClient) -> None:
    client = make_client(flushed=False)
    assert client.flushed is False
    client.flushed = True
    assert client.flushed is True


def test_the_http_connection_is_made_on_the_delivery_thread_not_at_construction(
    server: RecordingServer,
) -> None:
    # Proxy settings are resolved when the route to the endpoint (a connection of our
    # own, or a requests session) is made; on some systems that can reach the network,
    # which the caller's thread (often app start-up) must never do.
    client = Analytics("key", host=server.url, flush_at=100)
    client.flushed = True  # nothing goes before flush(), so flush() counts it
    assert not client._transport.routes
    client.track(user_id="u", event="E")
    assert not client._transport.routes
    assert client.flush(timeout=10) == 1
    assert client._transport.routes
    client.shutdown()
