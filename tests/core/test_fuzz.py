"""Property-based fuzzing of the six calls: each either raises ``ValidationError`` or
its message arrives at a local server exactly as encoded when the call accepted it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_web import Analytics, ValidationError
from segment_web.core.message import ALLOWED_FIELDS
from tests.support.client_helpers import Callbacks, MakeClient
from tests.support.recording_server import RecordingServer


class RaisesKeyErrorOnAnyAttribute:
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # hypothesis looks for _repr_pretty_ to print examples
            raise AttributeError(name)
        raise KeyError(name)


class ModelDumpPropertyRaises:
    @property
    def model_dump(self) -> Any:
        raise RuntimeError("broken model")


LONE_SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
texts = st.text(alphabet=st.one_of(st.characters(), LONE_SURROGATES), max_size=12)
integers = st.one_of(
    st.integers(), st.integers(min_value=2**53), st.just(5000).map(lambda digits: 10**digits)
)
offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
).map(dt.timezone)
datetimes = st.datetimes(timezones=st.one_of(st.none(), offsets))
odd_objects = st.sampled_from([RaisesKeyErrorOnAnyAttribute, ModelDumpPropertyRaises]).map(
    lambda make: make()
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(),
    texts,
    datetimes,
    st.dates(),
    st.decimals(),
    st.uuids(),
    odd_objects,
)
keys = st.one_of(texts, st.integers(-3, 3), st.booleans(), st.none(), st.floats())


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)
mappings = st.one_of(
    st.dictionaries(keys, values, max_size=5),
    st.integers(94, 100).map(lambda depth: {"deep": nested(depth)}),
)
identifiers = st.one_of(texts, integers, st.floats(), st.uuids(), st.booleans())
timestamps = st.one_of(datetimes, texts, datetimes.map(lambda d: d.isoformat()), st.dates())
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "user_id": identifiers,
    "anonymous_id": identifiers,
    "group_id": identifiers,
    "previous_id": identifiers,
    "message_id": st.one_of(texts, st.integers()),
    "event": st.one_of(texts, st.integers()),
    "name": texts,
    "category": texts,
    "timestamp": timestamps,
    "properties": st.one_of(mappings, values),
    "traits": st.one_of(mappings, values),
    "context": mappings,
    "integrations": mappings,
}
calls = st.sampled_from(sorted(ALLOWED_FIELDS))


@st.composite
def call_and_fields(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(calls)
    # mostly the call's own fields, sometimes any field (which must be refused)
    names = st.sampled_from(
        sorted(ALLOWED_FIELDS[kind] if draw(st.integers(0, 4)) else FIELD_VALUES)
    )
    chosen = draw(st.lists(names, max_size=5, unique=True))
    fields = {name: draw(FIELD_VALUES[name]) for name in chosen}
    # keep a good share of calls valid enough to be sent
    if kind == "alias":
        fields.setdefault("previous_id", "p")
        fields.setdefault("user_id", "u")
    else:
        fields.setdefault("user_id", "u")
    if kind == "track":
        fields.setdefault("event", "E")
    if kind == "group":
        fields.setdefault("group_id", "g")
    return kind, fields


def is_json_native(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return not isinstance(value, str) or value.isprintable()
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, list):
        return all(is_json_native(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_native(v) for k, v in value.items())
    return False


def test_a_call_raises_validation_error_or_its_message_arrives_as_accepted(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client: Analytics = make_client()
    sent = 0

    @settings(
        max_examples=250,
        derandomize=True,  # the same examples on every run: a flaky test is a failing test
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(call_and_fields())
    def check(case: tuple[str, dict[str, Any]]) -> None:
        nonlocal sent
        kind, fields = case
        callback = Callbacks()
        try:
            message_id = getattr(client, kind)(callback=callback, **fields)
        except ValidationError as error:
            assert error.field  # names what is wrong
            str(error).encode("utf-8")  # and can be printed or logged
            return
        assert client.flush(timeout=10) == 1
        sent += 1
        assert callback.wait(1) == [None]
        ((_, batch),) = callback.calls
        (accepted,) = batch.payloads
        request = server.requests[-1]
        assert accepted in request.data  # byte for byte, as encoded at call time
        (message,) = request.body["batch"]
        assert message == json.loads(accepted)
        assert message["messageId"] == message_id
        assert message["type"] == kind
        for name in ("properties", "traits", "integrations"):
            if is_json_native(fields.get(name)) and fields.get(name) is not None:
                assert message[name] == fields[name]

    check()
    assert sent >= 25  # the fuzzing reached delivery, not only refusals


def test_fuzzed_rich_values_match_what_a_standard_encoder_makes(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    value = {
        "d": decimal.Decimal("1.5"),
        "u": uuid.UUID(int=1),
        "t": (1, "x"),
        "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    }
    client.track(user_id="u", event="E", properties=value)
    assert client.flush(timeout=10) == 1
    expected = json.loads(json.dumps(value, default=str).replace(" ", ""))
    expected["d"] = 1.5
    expected["at"] = "2024-01-02T03:04:05+00:00"
    assert server.messages[0]["properties"] == expected
