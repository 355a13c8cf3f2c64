"""Property values: what is serialised and how, what is rejected (naming the field), and
that the caller's data is neither changed nor read again after the call."""

from __future__ import annotations

import array
import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic
import pytest

from segment_web import Analytics, ValidationError
from segment_web.wire.serialize import MAX_DEPTH
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer


class Plan(enum.Enum):
    PRO = "pro"


@dataclasses.dataclass
class Item:
    sku: str
    price: decimal.Decimal


class Address(pydantic.BaseModel):
    city: str
    since: dt.date


def sent_properties(
    client: Analytics, server: RecordingServer, properties: dict[str, Any]
) -> dict[str, Any]:
    client.track(user_id="u", event="E", properties=properties)
    assert client.flush(timeout=10) == 1
    result: dict[str, Any] = server.messages[-1]["properties"]
    return result


def test_rich_python_values_are_serialised(
    make_client: MakeClient, server: RecordingServer
) -> None:
    some_uuid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    properties = sent_properties(
        make_client(),
        server,
        {
            "at": dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
            "day": dt.date(2024, 2, 3),
            "price": decimal.Decimal("19.99"),
            "id": some_uuid,
            "plan": Plan.PRO,
            "tags": {"a"},
            "pair": (1, "two"),
            "item": Item("sku-1", decimal.Decimal("2.50")),
            "address": Address(city="Oslo", since=dt.date(2020, 1, 1)),
        },
    )
    assert properties == {
        "at": "2024-02-03T04:05:06+00:00",
        "day": "2024-02-03",
        "price": 19.99,
        "id": str(some_uuid),
        "plan": "pro",
        "tags": ["a"],
        "pair": [1, "two"],
        "item": {"sku": "sku-1", "price": 2.5},
        "address": {"city": "Oslo", "since": "2020-01-01"},
    }


def test_nan_and_infinities_become_null(make_client: MakeClient, server: RecordingServer) -> None:
    properties = sent_properties(
        make_client(),
        server,
        {
            "nan": float("nan"),
            "inf": float("inf"),
            "nested": [1.5, float("-inf"), {"deep": float("nan")}],
            "dec": decimal.Decimal("NaN"),
        },
    )
    assert properties == {
        "nan": None,
        "inf": None,
        "nested": [1.5, None, {"deep": None}],
        "dec": None,
    }


@pytest.mark.parametrize(
    ("properties", "path"),
    [
        ({"cart": [object()]}, "properties.cart.0"),
        ({"cart": [1, {"x": b"bytes"}]}, "properties.cart.1.x"),
        ({"cart": [1, {"x": bytearray(b"bytes")}]}, "properties.cart.1.x"),
        ({"cart": [1, {"x": memoryview(b"bytes")}]}, "properties.cart.1.x"),
        ({"blob": array.array("B", b"bytes")}, "properties.blob"),
        ({"blob": memoryview(array.array("i", [1, 2]))}, "properties.blob"),
        ({"when": {"f": lambda: 1}}, "properties.when.f"),
        ({(1, 2): "tuple key"}, "properties"),
    ],
)
def test_unserialisable_value_names_the_field_path(
    make_client: MakeClient, properties: dict[Any, Any], path: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_client().track(user_id="u", event="E", properties=properties)
    assert caught.value.field.startswith(path)
    assert path in str(caught.value)


@pytest.mark.parametrize(
    "blob",
    [b"ab", bytearray(b"ab"), memoryview(b"ab"), memoryview(b"xab")[1:], array.array("B", b"ab")],
    ids=["bytes", "bytearray", "memoryview", "memoryview-slice", "array"],
)
def test_every_bytes_like_value_is_refused_alike(make_client: MakeClient, blob: object) -> None:
    client = make_client()
    with pytest.raises(ValidationError) as caught:
        client.track(user_id="u", event="E", properties={"blob": blob})
    assert caught.value.field == "properties.blob"
    assert f"a value of type {type(blob).__name__} is bytes-like" in str(caught.value)
    with pytest.raises(ValidationError) as in_traits:
        client.identify(user_id="u", traits={"avatar": {"raw": blob}})
    assert in_traits.value.field == "traits.avatar.raw"


def test_circular_reference_is_rejected(make_client: MakeClient) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValidationError, match="properties"):
        make_client().track(user_id="u", event="E", properties={"loop": loop})


def test_callers_dicts_are_not_modified(make_client: MakeClient, server: RecordingServer) -> None:
    properties = {"cart": [{"sku": "a"}], "total": decimal.Decimal("3")}
    context = {"ip": "1.1.1.1"}
    integrations = {"All": True}
    snapshot = repr((properties, context, integrations))
    client = make_client()
    client.track(
        user_id="u", event="E", properties=properties, context=context, integrations=integrations
    )
    client.flush(timeout=10)
    assert repr((properties, context, integrations)) == snapshot


def test_later_changes_do_not_change_what_is_sent(
    make_client: MakeClient, server: RecordingServer
) -> None:
    properties: dict[str, Any] = {"cart": ["a"], "n": 1}
    context: dict[str, Any] = {"ip": "1.1.1.1"}
    client = make_client()
    client.track(user_id="u", event="E", properties=properties, context=context)
    properties["cart"].append("b")
    properties["n"] = 2
    context["ip"] = "9.9.9.9"
    client.flush(timeout=10)
    (message,) = server.messages
    assert message["properties"] == {"cart": ["a"], "n": 1}
    assert message["context"]["ip"] == "1.1.1.1"


def test_message_over_32_kb_is_rejected(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client()
    with pytest.raises(ValidationError, match="32768") as caught:
        client.track(user_id="u", event="E", properties={"blob": "x" * 33_000})
    assert caught.value.field == "properties"
    # multi-byte characters count as their UTF-8 bytes: 11,000 chars of 3 bytes is over
    with pytest.raises(ValidationError):
        client.track(user_id="u", event="E", properties={"blob": "€" * 11_000})
    client.track(user_id="u", event="E", properties={"blob": "x" * 30_000})
    assert client.flush(timeout=10) == 1


@pytest.mark.parametrize(
    ("call", "fields", "field"),
    [
        ("track", {"event": "E"}, "user_id"),
        ("identify", {"traits": {"a": 1}}, "user_id"),
        ("page", {"name": "Home"}, "user_id"),
        ("screen", {"name": "Home", "user_id": ""}, "user_id"),
        ("group", {"group_id": "g"}, "user_id"),
        ("track", {"user_id": "u"}, "event"),
        ("track", {"user_id": "u", "event": ""}, "event"),
        ("group", {"user_id": "u"}, "group_id"),
        ("alias", {"user_id": "u"}, "previous_id"),
        ("alias", {"previous_id": "p"}, "user_id"),
        ("alias", {"previous_id": "p", "anonymous_id": "a"}, "user_id"),
        ("track", {"user_id": "u", "event": 5}, "event"),
        ("track", {"user_id": "u", "event": "E", "properties": ["x"]}, "properties"),
        ("identify", {"user_id": "u", "traits": "x"}, "traits"),
        ("track", {"user_id": "u", "event": "E", "context": 1}, "context"),
        ("track", {"user_id": "u", "event": "E", "timestamp": "2024-01-01"}, "timestamp"),
        ("track", {"user_id": ["u"], "event": "E"}, "user_id"),
        ("track", {"user_id": "u", "event": "E", "message_id": 5}, "message_id"),
        ("track", {"user_id": "u", "event": "E", "traits": {}}, "traits"),
    ],
)
def test_bad_input_is_a_validation_error_naming_the_field(
    make_client: MakeClient, call: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=field) as caught:
        getattr(make_client(), call)(**fields)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_rejected_calls_send_nothing(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client()
    with pytest.raises(ValidationError):
        client.track(event="E")
    assert client.queued == 0
    assert client.flush(timeout=5) == 0
    assert server.arrived == 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True])
def test_ids_must_be_strings_or_finite_numbers(make_client: MakeClient, bad: object) -> None:
    with pytest.raises(ValidationError, match="user_id"):
        make_client().track(user_id=bad, event="E")


def test_callback_must_be_callable(make_client: MakeClient) -> None:
    with pytest.raises(ValidationError, match="callback"):
        make_client().track(user_id="u", event="E", callback="print")  # type: ignore[arg-type]


class RaisesKeyErrorOnAnyAttribute:
    def __getattr__(self, name: str) -> Any:
        raise KeyError(name)


class ModelDumpPropertyRaises:
    @property
    def model_dump(self) -> Any:
        raise RuntimeError("broken model")


class BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise LookupError(key)

    def __iter__(self) -> Iterator[str]:
        raise OSError("cannot iterate")

    def __len__(self) -> int:
        return 1


def depth_of(value: Any) -> int:
    """How many levels of objects and arrays ``value`` nests, itself included."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def nested(depth: int) -> dict[str, Any]:
    """A dict nesting ``depth`` levels of objects, itself included."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"user_id": 10**5000}, "user_id"),
        ({"anonymous_id": -(10**5000)}, "anonymous_id"),
        ({"properties": {"n": [1, 10**5000]}}, "properties.n.1"),
        ({"properties": {10**5000: 1}}, "properties"),
        ({"properties": {"x": RaisesKeyErrorOnAnyAttribute()}}, "properties.x"),
        ({"properties": {"x": [ModelDumpPropertyRaises()]}}, "properties.x.0"),
        ({"properties": {"x": BrokenMapping()}}, "properties.x"),
        ({"context": BrokenMapping()}, "context"),
        ({"properties": {"\ud800": 1}}, "properties.\\ud800"),
        ({"properties": {"ok": {"\udfff key": "v"}}}, "properties.ok.\\udfff key"),
        ({"properties": {"ok": "\ud800"}}, "properties.ok"),
        ({"properties": {1: "a", "1": "b"}}, "properties.1"),
        ({"properties": {"deep": [{True: 1, "true": 2}]}}, "properties.deep.0.true"),
        ({"traits": {None: 1, "null": 2}}, "traits.null"),
        ({"context": {"x": {1.5: 1, "1.5": 2}}}, "context.x.1.5"),
        ({"properties": {float("nan"): 1}}, "properties"),
    ],
)
def test_whatever_a_value_does_the_call_raises_only_a_validation_error_naming_it(
    make_client: MakeClient, server: RecordingServer, fields: dict[str, Any], path: str
) -> None:
    call = "identify" if "traits" in fields else "track"
    fields = {"user_id": "u", **fields} if "_id" not in next(iter(fields)) else fields
    if call == "track":
        fields["event"] = "E"
    client = make_client()
    with pytest.raises(ValidationError) as caught:
        getattr(client, call)(**fields)
    assert caught.value.field == path
    str(caught.value).encode("utf-8")  # printable and loggable, even for a lone surrogate
    assert client.queued == 0


def test_keys_that_do_not_collide_are_sent_as_strings(
    make_client: MakeClient, server: RecordingServer
) -> None:
    properties = sent_properties(
        make_client(), server, {1: "a", 2.5: "b", False: "c", None: "d", "line1": "e"}
    )
    assert properties == {"1": "a", "2.5": "b", "false": "c", "null": "d", "line1": "e"}


def test_nesting_up_to_the_limit_is_sent_deeper_is_refused(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # The message is level 1 and properties level 2: properties may nest MAX_DEPTH - 1.
    client = make_client()
    client.track(user_id="u", event="E", properties=nested(MAX_DEPTH - 1))
    assert client.flush(timeout=10) == 1
    assert depth_of(json.loads(server.requests[0].data)) == MAX_DEPTH + 2  # in the body
    with pytest.raises(ValidationError, match=f"deeper than {MAX_DEPTH}") as caught:
        client.track(user_id="u", event="E", properties=nested(MAX_DEPTH))
    assert caught.value.field == "properties" + ".a" * (MAX_DEPTH - 1)
    with pytest.raises(ValidationError, match="properties"):
        client.track(
            user_id="u", event="E", properties={"list": [[[[[[]]]]]] * 1} | {"deep": nested(980)}
        )
    assert client.flush(timeout=10) == 0


def test_a_large_flat_message_is_not_mistaken_for_a_deep_one(
    make_client: MakeClient, server: RecordingServer
) -> None:
    properties = sent_properties(make_client(), server, {"items": [{"n": n} for n in range(500)]})
    assert len(properties["items"]) == 500


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("identify", {"user_id": "u", "event": "E"}, "event"),
        ("alias", {"user_id": "u", "previous_id": "p", "properties": {}}, "properties"),
        ("group", {"user_id": "u", "group_id": "g", "name": "n"}, "name"),
        ("page", {"user_id": "u", "traits": {}}, "traits"),
    ],
)
def test_enqueue_refuses_fields_that_are_not_of_the_message_type(
    make_client: MakeClient, kind: Any, fields: dict[str, Any], field: str
) -> None:
    client = make_client()
    with pytest.raises(ValidationError, match=f"is not a field of {kind}") as caught:
        client.enqueue(kind, fields)
    assert caught.value.field == field
    assert client.queued == 0
