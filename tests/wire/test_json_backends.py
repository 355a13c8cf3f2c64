"""The fast JSON backend (``orjson``, extra ``speedups``) and the standard library give the
same bytes for every message, and the same ``ValidationError`` for every refused one."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import tracemalloc
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_web import ValidationError
from segment_web.core.message import MAX_MESSAGE_BYTES, encode_message
from segment_web.wire import json_backend, serialize
from segment_web.wire.serialize import MAX_DEPTH
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer

orjson = pytest.importorskip("orjson")


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mood(str, enum.Enum):
    HAPPY = "happy"


class Money(float):
    pass


class Name(str):
    pass


Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass
class Line:
    sku: str
    price: decimal.Decimal
    at: dt.datetime


class Address(pydantic.BaseModel):
    city: str
    since: dt.date


def circular() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

# Every kind of value the wire rules name, with the edge cases where encoders differ.
VALUES: dict[str, Any] = {
    "nan": float("nan"),
    "infinities": [float("inf"), float("-inf"), {"x": float("nan")}],
    "small floats": [1e-5, 1.5e-7, 9.9999e-5, 1e-4, 5e-324, -2.5e-10],
    "large floats": [1e16, 1e22, 1.7976931348623157e308, 123456789012345680.0, -0.0, 0.1],
    "ints": [0, -1, 2**53 + 1, 2**63 - 1, 2**64 - 1, 2**64, -(2**63) - 1, 10**40],
    "huge int": 10**5000,
    "bools and null": [True, False, None],
    "naive datetime": dt.datetime(2024, 5, 17, 9, 30, 12, 345678),
    "utc datetime": dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.timezone.utc),
    "offset datetime": dt.datetime(
        2024, 5, 17, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=15))
    ),
    "zoneinfo datetime": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN),
    "year 999": dt.datetime(999, 1, 2, 3, 4, 5),
    "date and time": [dt.date(2024, 2, 29), dt.time(9, 30, 1, 5), dt.time(23, 59)],
    "decimal": [decimal.Decimal("19.99"), decimal.Decimal("NaN"), decimal.Decimal("1E-7")],
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "enums": [Color.RED, Level.HIGH, Mood.HAPPY],
    "subclasses": [Money(1.5), Name("x"), Point(1, 2), collections.OrderedDict(b=1, a=2)],
    "set and tuple": [{3}, frozenset({"a"}), (1, "two")],
    "dataclass": Line("SKU-1", decimal.Decimal("2.50"), dt.datetime(2024, 1, 1)),
    "pydantic": Address(city="Köln", since=dt.date(2020, 1, 1)),
    "non-string keys": {2: "a", 2.5: "b", True: "c", None: "d", "e": {3: "f"}},
    "colliding keys": {1: "a", "1": "b"},
    "tuple key": {(1, 2): "a"},
    "unicode": '\x00\x1f"\\\n\t é ü 😀 \u2028\u2029 \x7f \ufeff',
    "lone surrogate": "a\ud800b",
    "surrogate key": {"\udfff": 1},
    "unknown type": object(),
    "circular": circular(),
    "at the depth limit": nested(MAX_DEPTH - 3),
    "past the depth limit": nested(MAX_DEPTH),
    "strings that look like numbers": ["1e-5", "0.00001", "e-mail", "9e-"],
}


@pytest.fixture
def stdlib_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(serialize, "_fast_encode", None)
    yield


def outcome(message: dict[str, Any]) -> bytes | tuple[str, str]:
    try:
        return encode_message(message)
    except ValidationError as error:
        return error.field, str(error)


def both(message: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    fast = outcome(message)
    with monkeypatch.context() as patch:
        patch.setattr(serialize, "_fast_encode", None)
        standard = outcome(message)
    return [fast, standard]


def message_with(properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": "m-1",
        "timestamp": "2024-05-17T09:30:12.345Z",
        "userId": "u",
        "event": "E",
        "properties": {"value": properties},
        "context": {"library": {"name": "segment-web", "version": "0"}},
    }


def test_orjson_is_used_when_installed() -> None:
    assert json_backend.BACKEND == "orjson"
    assert serialize._fast_encode is not None


@pytest.mark.parametrize("name", list(VALUES))
def test_both_backends_give_the_same_bytes_or_the_same_error(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, standard = both(message_with(VALUES[name]), monkeypatch)
    assert fast == standard


def test_the_matrix_exercises_both_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    results = [both(message_with(value), monkeypatch)[0] for value in VALUES.values()]
    assert sum(isinstance(r, bytes) for r in results) >= 15
    assert sum(isinstance(r, tuple) for r in results) >= 6


def test_orjson_encodes_the_common_message_itself() -> None:
    """The fast path is taken for a realistic message (not always handed back)."""
    message = message_with(
        {"revenue": 129.99, "tags": ["a"], "at": dt.datetime(2024, 1, 1), "ok": True}
    )
    # "4e-3" in an id is not a number written with an exponent
    message["messageId"] = "b73d844e-3b44-466d-a002-c5bdaf67cea1"
    assert serialize._fast_encode is not None
    assert serialize._fast_encode(message) is not None


@pytest.mark.parametrize("number", [1e-7, 2.5e-300, 1e-5])
def test_a_small_float_alone_is_encoded_alike(number: float) -> None:
    assert serialize.encode(number) == json.dumps(number).encode()


@pytest.mark.parametrize("backend", ["orjson", "json"])
def test_the_size_limit_counts_the_bytes_sent(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "json":
        monkeypatch.setattr(serialize, "_fast_encode", None)
    overhead = len(encode_message(message_with("")))
    fits = "é" * ((MAX_MESSAGE_BYTES - overhead) // 2)  # two UTF-8 bytes each
    assert len(encode_message(message_with(fits))) <= MAX_MESSAGE_BYTES
    with pytest.raises(ValidationError) as refused:
        encode_message(message_with(fits + "é"))
    assert refused.value.field == "properties"


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text()
        | st.datetimes(timezones=st.none() | st.timezones()),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_any_generated_value_encodes_alike(value: Any) -> None:
    fast = outcome(message_with(value))
    assert serialize._fast_encode is not None
    saved, serialize._fast_encode = serialize._fast_encode, None
    try:
        standard = outcome(message_with(value))
    finally:
        serialize._fast_encode = saved
    assert fast == standard


def test_decoding_keeps_integers_of_any_size() -> None:
    payload = json.dumps({"big": 10**30, "small": 2**64 - 1, "f": 1e-7}).encode()
    assert json_backend.loads(payload) == json.loads(payload)
    assert json_backend.loads(payload)["big"] == 10**30


def test_the_wire_bytes_reach_the_server_alike(
    make_client: MakeClient, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(gzip=False)
    properties = {name: VALUES[name] for name in ("nan", "small floats", "dataclass", "uuid")}
    call = {"user_id": "u", "event": "E", "message_id": "fixed", "timestamp": VALUES["year 999"]}
    client.track(properties=properties, **call)
    assert client.flush(timeout=10) == 1
    monkeypatch.setattr(serialize, "_fast_encode", None)
    client.track(properties=properties, **call)
    assert client.flush(timeout=10) == 1
    fast, standard = (
        r.data[r.data.index(b"[") : r.data.index(b',"sentAt"')] for r in server.accepted
    )
    assert fast == standard
    assert json.loads(fast)[0]["properties"]["nan"] is None


def test_stored_payloads_are_no_larger_than_their_json() -> None:
    """orjson's bytes keep their 4 KB buffer; a queue of them must not (10,000 = 40 MB)."""
    message = message_with({"n": 1})
    size = len(serialize.encode(message))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [serialize.encode(message) for _ in range(2000)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 2000
    assert grown < 2000 * (size + 200)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=12,
    )
)
@settings(max_examples=200, deadline=None)
def test_the_reused_c_encoder_gives_what_the_documented_encoder_gives(value: Any) -> None:
    """The standard-library path reuses json's C encoder (an undocumented name, probed at
    import): for any value it must give JSONEncoder.encode's text, and the module's
    fallback, the documented JSONEncoder.encode itself, must be what it is compared with."""
    fast = serialize._make_encode()
    assert fast is not serialize._encoder.encode, "the C encoder is available on CPython"
    try:
        expected = serialize._encoder.encode(value)
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            fast(value)
    else:
        assert fast(value) == expected


def test_without_the_c_encoder_the_documented_encoder_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert serialize._make_encode() == serialize._encoder.encode
