"""Building and validating one message, as the Segment spec and PRODUCT.md describe it.

Calls may use snake_case keyword arguments or one mapping with the spec's camelCase
names (as in the Node examples); both are normalised to snake_case ``fields`` first,
which is also what the per-request handle merges its defaults into.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from .errors import ValidationError
from .ids import uuid4
from .serialize import encode
from .version import LIBRARY_NAME, VERSION

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("identify", "track", "page", "screen", "group", "alias")

MAX_MESSAGE_BYTES = 32 * 1024

_COMMON = ("user_id", "anonymous_id", "timestamp", "context", "integrations", "message_id")
_SPECIFIC: dict[str, tuple[str, ...]] = {
    "identify": ("traits",),
    "track": ("event", "properties"),
    "page": ("category", "name", "properties"),
    "screen": ("category", "name", "properties"),
    "group": ("group_id", "traits"),
    "alias": ("previous_id",),
}
ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    kind: frozenset(_COMMON + specific) for kind, specific in _SPECIFIC.items()
}
# snake_case field -> wire (camelCase) name; the reverse reads the Node-style mapping form.
WIRE_NAMES = {
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "group_id": "groupId",
    "previous_id": "previousId",
    "message_id": "messageId",
}
_FROM_WIRE = {wire: snake for snake, wire in WIRE_NAMES.items()}
_MAPPING_FIELDS = frozenset({"traits", "properties", "context", "integrations"})
_STRING_FIELDS = frozenset({"event", "category", "name", "message_id"})
_ID_FIELDS = frozenset({"user_id", "anonymous_id", "group_id", "previous_id"})

LIBRARY = {"name": LIBRARY_NAME, "version": VERSION}


class BuiltMessage(NamedTuple):
    """One validated message: the dict as sent and its UTF-8 JSON, encoded once."""

    message: dict[str, Any]
    payload: bytes


def normalize_fields(
    kind: str, mapping: Mapping[str, Any] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge the camelCase/snake_case mapping form with keyword arguments.

    Keyword arguments win over the mapping; ``None`` values count as unset.
    """
    fields: dict[str, Any] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise ValidationError(kind, f"expected a mapping of fields, got {_kind_of(mapping)}")
        for key, value in mapping.items():
            fields[_FROM_WIRE.get(key, key)] = value
    fields.update(kwargs)
    allowed = ALLOWED_FIELDS[kind]
    for key in fields:
        if key not in allowed:
            names = ", ".join(sorted(allowed))
            raise ValidationError(str(key), f"is not a field of {kind}; expected one of {names}")
    return {key: value for key, value in fields.items() if value is not None}


def build_message(kind: MessageType, fields: Mapping[str, Any]) -> BuiltMessage:
    """Validate ``fields`` (snake_case, from ``normalize_fields``) and encode the message."""
    # One pass over the few fields given, in the order they go on the wire.
    message: dict[str, Any] = {"type": kind, "messageId": None, "timestamp": None}
    context: Mapping[str, Any] | None = None
    for name, value in fields.items():
        if value is None:
            continue
        if name in _ID_FIELDS:
            message[WIRE_NAMES[name]] = value if type(value) is str else _coerce_id(name, value)
        elif name in _MAPPING_FIELDS:
            if type(value) is not dict and not isinstance(value, Mapping):
                raise ValidationError(name, f"must be a mapping, got {_kind_of(value)}")
            if name == "context":
                context = value
            else:
                message[name] = value
        elif name in _STRING_FIELDS:
            if not isinstance(value, str):
                raise ValidationError(name, f"must be a string, got {_kind_of(value)}")
            message[WIRE_NAMES.get(name, name)] = value
        elif name != "timestamp":
            raise ValidationError(name, f"is not a field of {kind}")
    if message["messageId"] is None:
        message["messageId"] = uuid4()
    message["timestamp"] = format_timestamp(fields.get("timestamp"))
    _check_required(kind, message)
    library = dict(LIBRARY)  # a copy: signal receivers get this dict and may change it
    message["context"] = {"library": library, **context} if context else {"library": library}
    if "integrations" in message:  # after context, as the spec lists them
        message["integrations"] = message.pop("integrations")
    payload = encode(message)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ValidationError(
            _largest_field(message),
            f"message is {len(payload)} bytes of JSON, over the {MAX_MESSAGE_BYTES}-byte limit",
        )
    return BuiltMessage(message, payload)


def format_timestamp(value: object) -> str:
    """ISO-8601 in UTC with milliseconds; a naive datetime is taken as UTC."""
    if value is None:
        return _now()
    if not isinstance(value, dt.datetime):
        raise ValidationError("timestamp", f"must be a datetime, got {_kind_of(value)}")
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    else:
        value = value.astimezone(dt.timezone.utc)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


_second_cache: tuple[int, str] = (-1, "")


def _now() -> str:
    """The current time, formatted; the seconds part is formatted once per second."""
    global _second_cache
    now = time.time()
    second = int(now)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)
    return f"{prefix}.{int((now - second) * 1000):03d}Z"


def _coerce_id(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise ValidationError(name, f"must be a string or a number, got {_kind_of(value)}")


def _check_required(kind: str, message: Mapping[str, Any]) -> None:
    if kind == "alias":
        if not message.get("userId"):
            raise ValidationError("user_id", "alias needs user_id")
        if not message.get("previousId"):
            raise ValidationError("previous_id", "alias needs previous_id")
        return
    if not message.get("userId") and not message.get("anonymousId"):
        raise ValidationError("user_id", f"{kind} needs user_id or anonymous_id")
    if kind == "track" and not message.get("event"):
        raise ValidationError("event", "track needs a non-empty event name")
    if kind == "group" and not message.get("groupId"):
        raise ValidationError("group_id", "group needs group_id")


def _largest_field(message: Mapping[str, Any]) -> str:
    sizes = {name: len(encode(value)) for name, value in message.items()}
    return max(sizes, key=sizes.__getitem__)


def _kind_of(value: object) -> str:
    return type(value).__name__
