"""What goes over the wire: the request, its body, and each message's fields."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import uuid
from typing import Any

import pytest

from segment_web import Analytics, ValidationError, __version__
from tests.support.client_helpers import Callbacks, MakeClient
from tests.support.recording_server import RecordingServer

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def send_one(
    client: Analytics, server: RecordingServer, call: str, **fields: Any
) -> dict[str, Any]:
    getattr(client, call)(**fields)
    assert client.flush(timeout=10) == 1
    (message,) = server.messages
    return message


def test_request_line_auth_and_headers(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client("my-write-key", gzip=True)
    send_one(client, server, "track", user_id="u", event="E")
    (request,) = server.requests
    assert request.path == "/v1/batch"
    token = base64.b64encode(b"my-write-key:").decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"segment-web/{__version__}"
    assert request.headers["Content-Encoding"] == "gzip"
    assert "X-Retry-Count" not in request.headers
    assert request.raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(request.raw)) == request.body


def test_no_gzip_when_disabled(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client(gzip=False)
    send_one(client, server, "track", user_id="u", event="E")
    (request,) = server.requests
    assert "Content-Encoding" not in request.headers
    assert json.loads(request.raw) == request.body


def test_body_has_batch_sent_at_and_write_key(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client("wk-1")
    send_one(client, server, "track", user_id="u", event="E")
    body = server.requests[0].body
    assert set(body) == {"batch", "sentAt", "writeKey"}
    assert body["writeKey"] == "wk-1"
    assert ISO_MS_Z.match(body["sentAt"])
    assert len(body["batch"]) == 1


CALLS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "identify",
        {"user_id": "u1", "traits": {"email": "a@b.c"}},
        {"userId": "u1", "traits": {"email": "a@b.c"}},
    ),
    (
        "track",
        {"user_id": "u1", "event": "Item Purchased", "properties": {"revenue": 39.95}},
        {"userId": "u1", "event": "Item Purchased", "properties": {"revenue": 39.95}},
    ),
    (
        "page",
        {"anonymous_id": "a1", "category": "Docs", "name": "Intro", "properties": {"x": 1}},
        {"anonymousId": "a1", "category": "Docs", "name": "Intro", "properties": {"x": 1}},
    ),
    (
        "screen",
        {"user_id": "u1", "name": "Home", "properties": {"v": "2"}},
        {"userId": "u1", "name": "Home", "properties": {"v": "2"}},
    ),
    (
        "group",
        {"user_id": "u1", "group_id": "g1", "traits": {"plan": "pro"}},
        {"userId": "u1", "groupId": "g1", "traits": {"plan": "pro"}},
    ),
    (
        "alias",
        {"previous_id": "anon-9", "user_id": "u1"},
        {"previousId": "anon-9", "userId": "u1"},
    ),
]


@pytest.mark.parametrize(("call", "kwargs", "wire"), CALLS, ids=[c[0] for c in CALLS])
def test_each_call_with_keyword_arguments(
    make_client: MakeClient,
    server: RecordingServer,
    call: str,
    kwargs: dict[str, Any],
    wire: dict[str, Any],
) -> None:
    message = send_one(make_client(), server, call, **kwargs)
    assert message["type"] == call
    expected_keys = {"type", "messageId", "timestamp", "context", *wire}
    assert set(message) == expected_keys  # unset fields are omitted, never null
    for key, value in wire.items():
        assert message[key] == value


@pytest.mark.parametrize(("call", "kwargs", "wire"), CALLS, ids=[c[0] for c in CALLS])
def test_each_call_with_one_camel_case_mapping(
    make_client: MakeClient,
    server: RecordingServer,
    call: str,
    kwargs: dict[str, Any],
    wire: dict[str, Any],
) -> None:
    client = make_client()
    getattr(client, call)(dict(wire))
    assert client.flush(timeout=10) == 1
    (message,) = server.messages
    assert message["type"] == call
    for key, value in wire.items():
        assert message[key] == value


def test_node_style_mapping_with_every_common_field(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    client.track(
        {
            "userId": "019mr8mf4r",
            "event": "Purchased an Item",
            "properties": {"revenue": "39.95", "shippingMethod": "2-day"},
            "timestamp": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
            "context": {"ip": "8.8.8.8"},
            "integrations": {"All": False, "Mixpanel": True},
            "messageId": "fixed-id",
        }
    )
    client.flush(timeout=10)
    (message,) = server.messages
    assert message["messageId"] == "fixed-id"
    assert message["timestamp"] == "2024-01-02T03:04:05.678Z"
    assert message["context"]["ip"] == "8.8.8.8"
    assert message["integrations"] == {"All": False, "Mixpanel": True}
    assert message["properties"]["shippingMethod"] == "2-day"


def test_keyword_arguments_win_over_the_mapping(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    client.track({"userId": "mapped", "event": "E"}, user_id="kw")
    client.flush(timeout=10)
    assert server.messages[0]["userId"] == "kw"
    assert server.messages[0]["event"] == "E"


def test_callback_fires_once_with_none_and_the_batch(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    callback = Callbacks()
    message_id = client.track(user_id="u", event="E", callback=callback)
    client.flush(timeout=10)
    assert callback.wait(1) == [None]
    (_, batch) = callback.calls[0]
    assert batch.message_ids == [message_id]
    assert batch[0]["event"] == "E"


def test_message_ids_are_unique_uuids_and_returned(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    returned = [client.track(user_id="u", event="E") for _ in range(50)]
    client.flush(timeout=10)
    sent = [m["messageId"] for m in server.messages]
    assert sent == returned
    assert len(set(sent)) == 50
    for message_id in sent:
        uuid.UUID(message_id)


def test_timestamp_defaults_to_now_in_utc_with_milliseconds(
    make_client: MakeClient, server: RecordingServer
) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    message = send_one(make_client(), server, "track", user_id="u", event="E")
    assert ISO_MS_Z.match(message["timestamp"])
    sent = dt.datetime.strptime(message["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert before <= sent.replace(tzinfo=dt.timezone.utc) <= after


@pytest.mark.parametrize(
    ("timestamp", "wire"),
    [
        (dt.datetime(2023, 5, 6, 7, 8, 9, 123456), "2023-05-06T07:08:09.123Z"),  # naive = UTC
        (
            dt.datetime(2023, 5, 6, 9, 8, 9, 5000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2023-05-06T07:08:09.005Z",
        ),
        (
            dt.datetime(2023, 12, 31, 20, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "2024-01-01T01:00:00.000Z",
        ),
    ],
)
def test_given_timestamps_are_converted_to_utc(
    make_client: MakeClient, server: RecordingServer, timestamp: dt.datetime, wire: str
) -> None:
    message = send_one(make_client(), server, "track", user_id="u", event="E", timestamp=timestamp)
    assert message["timestamp"] == wire


def test_library_is_merged_under_the_callers_context(
    make_client: MakeClient, server: RecordingServer
) -> None:
    context = {"ip": "1.2.3.4", "traits": {"plan": "pro"}}
    message = send_one(make_client(), server, "track", user_id="u", event="E", context=context)
    assert message["context"] == {
        "ip": "1.2.3.4",
        "traits": {"plan": "pro"},
        "library": {"name": "segment-web", "version": __version__},
    }
    assert context == {"ip": "1.2.3.4", "traits": {"plan": "pro"}}


def test_library_alone_without_a_context(make_client: MakeClient, server: RecordingServer) -> None:
    message = send_one(make_client(), server, "identify", user_id="u")
    assert message["context"] == {"library": {"name": "segment-web", "version": __version__}}
    assert "integrations" not in message


def test_integrations_are_sent_when_given(make_client: MakeClient, server: RecordingServer) -> None:
    message = send_one(
        make_client(), server, "track", user_id="u", event="E", integrations={"All": False}
    )
    assert message["integrations"] == {"All": False}


def test_numeric_ids_are_sent_as_strings(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client()
    client.group(user_id=42, group_id=7)
    client.track(anonymous_id=9, event="E")
    client.alias(previous_id=1, user_id=2)
    client.flush(timeout=10)
    group, track, alias = server.messages
    assert (group["userId"], group["groupId"]) == ("42", "7")
    assert track["anonymousId"] == "9"
    assert (alias["previousId"], alias["userId"]) == ("1", "2")


def test_none_fields_are_omitted_never_null(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    client.page(
        user_id="u", anonymous_id=None, name=None, category=None, properties=None, context=None
    )
    client.flush(timeout=10)
    (request,) = server.requests
    (message,) = server.messages
    assert set(message) == {"type", "messageId", "timestamp", "context", "userId"}
    assert b"null" not in request.data


@pytest.mark.parametrize(
    ("timestamp", "wire"),
    [
        ("2023-05-06T07:08:09.123Z", "2023-05-06T07:08:09.123Z"),
        ("2023-05-06T09:08:09.123456+02:00", "2023-05-06T07:08:09.123Z"),
        ("2023-05-06 07:08:09", "2023-05-06T07:08:09.000Z"),  # no offset: UTC
        ("20230506T070809Z", "2023-05-06T07:08:09.000Z"),
        # forms Python 3.10's fromisoformat does not read: the same on every Python
        ("20230506T0708+0200", "2023-05-06T05:08:00.000Z"),
        ("2023-05-06T07:08:09.12Z", "2023-05-06T07:08:09.120Z"),
        ("2023-05-06T07:08:09,5-01:30", "2023-05-06T08:38:09.500Z"),
        (dt.datetime(5, 1, 1), "0005-01-01T00:00:00.000Z"),  # years keep four digits
        ("0005-01-01T00:00:00Z", "0005-01-01T00:00:00.000Z"),
    ],
)
def test_iso_8601_strings_and_early_years_are_sent_in_the_wire_format(
    make_client: MakeClient, server: RecordingServer, timestamp: object, wire: str
) -> None:
    message = send_one(make_client(), server, "track", user_id="u", event="E", timestamp=timestamp)
    assert message["timestamp"] == wire
    assert ISO_MS_Z.match(message["timestamp"])


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-01-01",  # a date is not a point in time
        "yesterday",
        "2024-13-01T00:00:00Z",
        "2024-01-01T00:00:00\ud800",
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # before year 1 in UTC
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        dt.date(2024, 1, 1),
    ],
)
def test_unusable_timestamps_are_a_validation_error(
    make_client: MakeClient, timestamp: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_client().track(user_id="u", event="E", timestamp=timestamp)
    assert caught.value.field == "timestamp"


def test_naive_datetimes_mean_utc_in_properties_as_in_timestamp(
    make_client: MakeClient, server: RecordingServer
) -> None:
    naive = dt.datetime(2024, 2, 3, 4, 5, 6, 789000)
    message = send_one(
        make_client(),
        server,
        "track",
        user_id="u",
        event="E",
        timestamp=naive,
        properties={"at": naive, "aware": naive.replace(tzinfo=dt.timezone.utc)},
    )
    assert message["timestamp"] == "2024-02-03T04:05:06.789Z"
    assert message["properties"] == {
        "at": "2024-02-03T04:05:06.789000+00:00",
        "aware": "2024-02-03T04:05:06.789000+00:00",
    }
    for text in (message["timestamp"], message["properties"]["at"]):
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert parsed == naive.replace(tzinfo=dt.timezone.utc)


def test_a_loopback_host_without_a_scheme_is_reached_over_http(server: RecordingServer) -> None:
    client = Analytics("k", host=f"127.0.0.1:{server.port}", flush_at=1)
    try:
        assert client.endpoint == f"http://127.0.0.1:{server.port}/v1/batch"
        client.track(user_id="u", event="E")
        assert client.flush(timeout=10) == 1
    finally:
        client.shutdown(timeout=5)
    assert server.messages[0]["event"] == "E"
    for host in ("localhost:8765", "[::1]:8765"):
        assert Analytics("k", host=host, enable=False).endpoint.startswith("http://")
    assert Analytics("k", host="api.example.com:8765", enable=False).endpoint.startswith("https://")
