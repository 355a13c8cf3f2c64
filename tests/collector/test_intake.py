"""The tracking API's rules as pure functions: auth, encodings, limits, shapes."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from segment_web.collector.errors import RequestError
from segment_web.collector.intake import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    batch_messages,
    decode_body,
    message_json,
    parse_json,
    single_message,
    write_key_from_auth,
)

from .helpers import track


def basic(user_and_password: str) -> str:
    return "Basic " + base64.b64encode(user_and_password.encode()).decode()


def refused(call: Any, *args: Any, **kwargs: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_the_write_key_is_the_basic_auth_user_name_and_the_password_is_ignored() -> None:
    assert write_key_from_auth(basic("wk:"), None) == "wk"
    assert write_key_from_auth(basic("wk:anything"), None) == "wk"
    assert write_key_from_auth(basic("wk:"), "wk") == "wk"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "missing HTTP basic auth"),
        ("Bearer abc", "basic auth"),
        ("Basic !!!not-base64", "malformed"),
        ("Basic " + base64.b64encode(b"\xff\xfe:").decode(), "malformed"),
        (basic(":password"), "empty write key"),
    ],
)
def test_bad_credentials_are_401(header: str | None, words: str) -> None:
    error = refused(write_key_from_auth, header, None)
    assert error.status == 401
    assert words in error.message
    assert "WWW-Authenticate" in error.headers


def test_only_the_required_key_passes() -> None:
    error = refused(write_key_from_auth, basic("other:"), "wk")
    assert (error.status, error.message) == (401, "invalid write key")


def test_gzip_and_plain_bodies_decode_the_same() -> None:
    data = json.dumps({"batch": [track()]}).encode()
    assert decode_body(gzip.compress(data), "gzip") == data
    assert decode_body(data, None) == data
    assert decode_body(data, "identity") == data
    # Two gzip members concatenated are one valid gzip stream.
    assert decode_body(gzip.compress(b"ab") + gzip.compress(b"cd"), "GZip") == b"abcd"


def test_body_limit_is_500_kb_uncompressed() -> None:
    assert len(decode_body(b" " * MAX_BODY_BYTES, None)) == MAX_BODY_BYTES
    assert len(decode_body(gzip.compress(b" " * MAX_BODY_BYTES), "gzip")) == MAX_BODY_BYTES
    for raw, encoding in [
        (b" " * (MAX_BODY_BYTES + 1), None),
        (gzip.compress(b" " * (MAX_BODY_BYTES + 1)), "gzip"),
        (gzip.compress(b"0" * 50_000_000), "gzip"),  # a gzip bomb is stopped early
    ]:
        error = refused(decode_body, raw, encoding)
        assert error.status == 400
        assert "500" in error.message or str(MAX_BODY_BYTES) in error.message


@pytest.mark.parametrize(
    ("raw", "encoding", "words"),
    [
        (b"not gzip at all", "gzip", "not valid gzip"),
        # mtime=0: the same bytes, so the same test id, in every pytest-xdist worker
        (gzip.compress(b'{"batch": []}', mtime=0)[:-6], "gzip", "truncated"),
        (b"{}", "br", "unsupported Content-Encoding"),
    ],
)
def test_bad_encodings_are_400(raw: bytes, encoding: str, words: str) -> None:
    error = refused(decode_body, raw, encoding)
    assert error.status == 400
    assert words in error.message


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"\xff\xfe\x00", b"NaN", b'{"a": Infinity}', b"1e999", b"[" * 100_000, b"9" * 5000],
)
def test_malformed_or_non_standard_json_is_400(data: bytes) -> None:
    error = refused(parse_json, data)
    assert error.status == 400
    assert error.message.startswith("malformed JSON")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "expected a JSON object"),
        ({"batch": None}, '"batch" must be a list'),
        ({}, '"batch" must be a list'),
        ({"batch": [1]}, "batch[0] must be an object"),
        ({"batch": [track(), {"type": "click", "userId": "u"}]}, "batch[1]: type must be one of"),
        ({"batch": [{"type": "identify"}]}, "identify needs userId or anonymousId"),
        ({"batch": [{"type": "track", "userId": "u"}]}, "track needs an event name"),
        ({"batch": [{"type": "group", "userId": "u"}]}, "group needs groupId"),
        ({"batch": [{"type": "alias", "userId": "u"}]}, "alias needs previousId"),
        ({"batch": [track(user={"id": 1})]}, "userId must be a string"),
        ({"batch": [track(userId=True)]}, "userId must be a string"),
        ({"batch": [track(event=5)]}, "event must be a string"),
        ({"batch": [track(timestamp=1700000000)]}, "timestamp must be a string"),
        ({"batch": [track(properties=[1, 2])]}, "properties must be an object"),
    ],
)
def test_wrong_shapes_are_400_and_say_where(body: Any, words: str) -> None:
    error = refused(batch_messages, body)
    assert error.status == 400
    assert words in error.message


def test_a_valid_batch_is_returned_as_sent() -> None:
    messages = [
        track(userId=42),
        {"type": "identify", "anonymousId": "a", "traits": {"email": "e@x"}},
        {"type": "page", "userId": "u", "name": "Home"},
        {"type": "screen", "userId": "u"},
        {"type": "group", "userId": "u", "groupId": "g"},
        {"type": "alias", "userId": "u", "previousId": "a"},
    ]
    assert batch_messages({"batch": messages, "sentAt": "x", "writeKey": "k"}) == messages
    assert batch_messages({"batch": []}) == []


def test_a_single_message_takes_its_type_from_the_path() -> None:
    message = single_message("identify", {"type": "track", "userId": "u"})
    assert message == {"type": "identify", "userId": "u"}
    assert refused(single_message, "track", [track()]).status == 400


def sized(size: int) -> dict[str, Any]:
    """A track message whose compact JSON is exactly ``size`` UTF-8 bytes."""
    message = track(properties={"pad": ""})
    base = len(message_json(message).encode())
    message["properties"]["pad"] = "é" * ((size - base) // 2) + "x" * ((size - base) % 2)
    assert len(message_json(message).encode()) == size
    return message


def test_message_limit_is_32_kb_of_its_json() -> None:
    assert batch_messages({"batch": [sized(MAX_MESSAGE_BYTES)]})
    error = refused(batch_messages, {"batch": [track(), sized(MAX_MESSAGE_BYTES + 1)]})
    assert error.status == 400
    assert f"batch[1]: message is {MAX_MESSAGE_BYTES + 1} bytes" in error.message
