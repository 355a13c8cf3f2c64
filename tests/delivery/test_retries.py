"""Which answers are retried, how (same messages, X-Retry-Count, backoff, Retry-After)."""

from __future__ import annotations

import contextlib
import email.utils
import logging
import time
from typing import Any

import pytest

from segment_web import DeliveryError, signals
from segment_web.delivery.transport import RetryPolicy, parse_retry_after
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer, Reply


def test_500_then_200_delivers_once_with_the_same_message_ids(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=500))
    client = make_client()
    callback = Callbacks()
    ids = [client.track(user_id="u", event=f"E{n}", callback=callback) for n in range(3)]
    assert client.flush(timeout=10) == 3
    assert callback.wait(3) == [None, None, None]
    first, retry = server.requests
    assert [m["messageId"] for m in first.body["batch"]] == ids
    assert [m["messageId"] for m in retry.body["batch"]] == ids
    assert "X-Retry-Count" not in first.headers
    assert retry.headers["X-Retry-Count"] == "1"
    assert len(server.accepted) == 1


def test_retry_count_header_counts_up(make_client: MakeClient, server: RecordingServer) -> None:
    server.reply(Reply(status=502), Reply(status=503), Reply(status=504))
    client = make_client(max_retries=3)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    counts = [r.headers.get("X-Retry-Count") for r in server.requests]
    assert counts == [None, "1", "2", "3"]


@pytest.mark.parametrize("status", [408, 410, 429, 460, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(
    make_client: MakeClient, server: RecordingServer, status: int
) -> None:
    server.reply(Reply(status=status))
    client = make_client()
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    assert [r.status for r in server.requests] == [status, 200]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 501, 505])
def test_final_statuses_are_not_retried(
    make_client: MakeClient, server: RecordingServer, status: int
) -> None:
    server.reply(Reply(status=status, body=b'{"error": "nope"}'))
    client = make_client(error_handler=lambda error: None)
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)
    assert client.flush(timeout=10) == 0
    (error,) = callback.wait(1)
    assert isinstance(error, DeliveryError)
    assert error.status == status
    assert len(server.requests) == 1


def test_a_400_reaches_callback_signal_and_error_handler(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    failed = record_signal(signals.batch_failed)
    handled: list[Exception] = []
    server.reply(Reply(status=400, body=b'{"error": "bad"}'))
    client = make_client(error_handler=handled.append)
    callback = Callbacks()
    message_id = client.track(user_id="u", event="E", callback=callback)
    client.flush(timeout=10)
    (error,) = callback.wait(1)
    assert isinstance(error, DeliveryError) and error.status == 400
    assert "bad" in error.body
    assert handled == [error]
    ((sender, kwargs),) = failed.wait(1)
    assert sender is client
    assert kwargs["error"] is error
    assert kwargs["batch"].message_ids == [message_id]
    assert len(server.requests) == 1


def test_retries_stop_after_max_retries(make_client: MakeClient, server: RecordingServer) -> None:
    server.default = Reply(status=500)
    client = make_client(max_retries=2)
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)
    with pytest.raises(DeliveryError) as caught:
        client.flush(timeout=10)
    assert caught.value.status == 500
    assert len(server.requests) == 3
    assert callback.wait(1) == [caught.value]


def test_retry_after_is_honoured_and_not_counted_against_max_retries(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=429, headers={"Retry-After": "1"}))
    client = make_client(max_retries=0)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    first, retry = server.requests
    assert retry.sent_at - first.sent_at >= 0.9
    assert retry.headers["X-Retry-Count"] == "1"


def test_retry_after_as_an_http_date(make_client: MakeClient, server: RecordingServer) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    server.reply(Reply(status=503, headers={"Retry-After": when}))
    client = make_client(max_retries=0)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    first, retry = server.requests
    assert retry.sent_at - first.sent_at >= 0.5  # the date has whole seconds: 1 to 2 s from now


def test_without_retry_after_max_retries_zero_means_one_try(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=429))
    client = make_client(max_retries=0, error_handler=lambda error: None)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 0
    assert len(server.requests) == 1


def test_dropped_connection_is_retried(make_client: MakeClient, server: RecordingServer) -> None:
    server.reply(Reply(drop=True))
    client = make_client()
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)
    assert client.flush(timeout=10) == 1
    assert callback.wait(1) == [None]
    dropped, retry = server.requests
    assert dropped.status == 0
    assert retry.headers["X-Retry-Count"] == "1"


def test_timeout_is_retried(make_client: MakeClient, server: RecordingServer) -> None:
    server.reply(Reply(status=503, delay=3.0))
    client = make_client(timeout=0.3)
    callback = Callbacks()
    message_id = client.track(user_id="u", event="E", callback=callback)
    start = time.monotonic()
    assert client.flush(timeout=10) == 1
    assert time.monotonic() - start < 2.5  # it did not wait for the slow answer
    assert callback.wait(1) == [None]
    (accepted,) = server.accepted
    assert accepted.headers["X-Retry-Count"] == "1"
    assert accepted.body["batch"][0]["messageId"] == message_id


def test_unreachable_host_fails_after_retries(make_client: MakeClient) -> None:
    client = make_client(host="http://127.0.0.1:9", max_retries=1)
    callback = Callbacks()
    client.track(user_id="u", event="E", callback=callback)
    with pytest.raises(DeliveryError, match="network error"):
        client.flush(timeout=10)
    assert callback.wait(1) != [None]


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=0.5, max_delay=60.0)
    for retry, nominal in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        for _ in range(20):
            assert nominal * 0.75 <= policy.backoff(retry) <= nominal * 1.25
    assert all(policy.backoff(20) <= 60.0 for _ in range(20))


def test_default_backoff_is_half_a_second_up_to_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # this one checks the production values, not the fast test ones
    policy = RetryPolicy()
    assert (policy.base_delay, policy.max_delay) == (0.5, 60.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("100000", 300.0),
        ("-4", 0.0),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    parsed = parse_retry_after(email.utils.formatdate(time.time() + 30, usegmt=True))
    assert parsed is not None and 28 <= parsed <= 31


@pytest.mark.parametrize(
    ("error_handler", "level"), [(None, logging.ERROR), (lambda error: None, logging.WARNING)]
)
def test_a_failed_batch_is_logged_once_with_or_without_an_error_handler(
    make_client: MakeClient,
    server: RecordingServer,
    caplog: pytest.LogCaptureFixture,
    error_handler: Any,
    level: int,
) -> None:
    server.default = Reply(status=400)
    client = make_client(error_handler=error_handler)
    client.track(user_id="u", event="Alone")
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        with contextlib.suppress(DeliveryError):
            client.flush(timeout=10)
        for n in range(2):
            client.track(user_id="u", event=f"Pair {n}")
        with contextlib.suppress(DeliveryError):
            client.flush(timeout=10)
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert [r.getMessage().split(":")[1] for r in failures] == [
        " a batch of 1 message failed",
        " a batch of 2 messages failed",
    ]
    assert {r.levelno for r in failures} == {level}
