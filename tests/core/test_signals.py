"""The blinker signals: each sent with the client as sender and the documented arguments."""

from __future__ import annotations

import pytest

from segment_web import Batch, DeliveryError, signals
from tests.support.client_helpers import Callbacks, MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer, Reply


def test_message_queued_and_batch_sent(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    queued = record_signal(signals.message_queued)
    sent = record_signal(signals.batch_sent)
    client = make_client()
    ids = [client.track(user_id="u", event=f"E{n}") for n in range(2)]
    client.flush(timeout=10)
    assert [(sender, kwargs["message"]["messageId"]) for sender, kwargs in queued.wait(2)] == [
        (client, ids[0]),
        (client, ids[1]),
    ]
    ((sender, kwargs),) = sent.wait(1)
    assert sender is client
    assert kwargs["status"] == 200
    assert isinstance(kwargs["batch"], Batch)
    assert kwargs["batch"].message_ids == ids


def test_batch_failed(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    failed = record_signal(signals.batch_failed)
    sent = record_signal(signals.batch_sent)
    server.reply(Reply(status=413))
    client = make_client(error_handler=lambda error: None)
    message_id = client.track(user_id="u", event="E")
    client.flush(timeout=10)
    ((sender, kwargs),) = failed.wait(1)
    assert sender is client
    assert isinstance(kwargs["error"], DeliveryError)
    assert kwargs["batch"].message_ids == [message_id]
    assert sent.sends == []


def test_message_dropped(
    make_client: MakeClient, server: RecordingServer, record_signal: RecordSignal
) -> None:
    dropped = record_signal(signals.message_dropped)
    client = make_client(max_queue_size=1)
    client.track(user_id="u", event="Kept")
    message_id = client.track(user_id="u", event="Dropped")
    ((sender, kwargs),) = dropped.wait(1)
    assert sender is client
    assert kwargs["message_id"] == message_id
    assert kwargs["message"]["event"] == "Dropped"
    assert "queue full" in kwargs["reason"]


def test_receivers_can_listen_to_one_client(
    make_client: MakeClient, server: RecordingServer
) -> None:
    first = make_client("key-a")
    second = make_client("key-b")
    heard: list[str] = []

    def receiver(sender: object, **kwargs: object) -> None:
        heard.append(kwargs["message"]["event"])  # type: ignore[index]

    signals.message_queued.connect(receiver, sender=first)
    try:
        first.track(user_id="u", event="From A")
        second.track(user_id="u", event="From B")
    finally:
        signals.message_queued.disconnect(receiver, sender=first)
    assert heard == ["From A"]


def test_a_raising_receiver_breaks_neither_the_call_nor_the_callbacks(
    make_client: MakeClient, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: object, **kwargs: object) -> None:
        raise RuntimeError("receiver bug")

    client = make_client(max_queue_size=1)
    callback = Callbacks()
    for signal in (signals.message_queued, signals.batch_sent, signals.message_dropped):
        signal.connect(broken, sender=client)
    try:
        client.track(user_id="u", event="Sent", callback=callback)
        client.track(user_id="u", event="Dropped", callback=callback)  # queue full
        assert client.flush(timeout=10) == 1
    finally:
        for signal in (signals.message_queued, signals.batch_sent, signals.message_dropped):
            signal.disconnect(broken, sender=client)
    errors = callback.wait(2)
    assert sorted(type(error).__name__ for error in errors) == ["MessageDropped", "NoneType"]
    assert "receiver bug" in caplog.text
