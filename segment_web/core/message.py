"""Building and validating one message, and encoding it once.

Calls may use snake_case keyword arguments or one mapping with the spec's camelCase
names (as in the Node examples); both are normalised to snake_case ``fields`` first,
which is also what the per-request handle merges its defaults into. ``build_message``
turns the fields into the message dict as it goes on the wire (camelCase keys),
refusing fields the message type does not have; ``encode_message`` makes its JSON and
enforces the size limit. ``processing.chain`` runs them in order.

Timestamps: ``timestamp=`` takes a ``datetime`` or an ISO-8601 date-and-time string; it
is sent in UTC as ``YYYY-MM-DDTHH:MM:SS.mmmZ``. A naive datetime means UTC, both there
and as a value inside properties, traits or context (sent there as ISO 8601 with its
offset, ``+00:00`` for a naive one).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from segment_web.errors import ValidationError
from segment_web.version import LIBRARY_NAME, VERSION
from segment_web.wire.ids import fast_message_id
from segment_web.wire.serialize import encode
from segment_web.wire.timestamps import format_timestamp

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("identify", "track", "page", "screen", "group", "alias")
_TYPE_BY_NAME: dict[str, MessageType] = {kind: kind for kind in MESSAGE_TYPES}

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


def normalize_fields(
    kind: str, mapping: Mapping[str, Any] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge the camelCase/snake_case mapping form with keyword arguments.

    Keyword arguments win over the mapping; ``None`` values count as unset.
    """
    allowed = ALLOWED_FIELDS[kind]
    if mapping is None and kwargs.keys() <= allowed:  # the common call: keyword arguments
        return {key: value for key, value in kwargs.items() if value is not None}
    fields: dict[str, Any] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise ValidationError(kind, f"expected a mapping of fields, got {_kind_of(mapping)}")
        try:
            for key, value in mapping.items():
                fields[_FROM_WIRE.get(key, key)] = value
        except Exception as error:  # a mapping whose own methods raise
            raise ValidationError(kind, f"could not read the fields: {_describe(error)}") from error
    fields.update(kwargs)
    for key in fields:
        if key not in allowed:
            raise _not_a_field(kind, key)
    return {key: value for key, value in fields.items() if value is not None}


def build_message(kind: MessageType, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The message for ``fields`` (snake_case, from ``normalize_fields``), validated.

    Its values are still the caller's (``encode_message`` serialises them); whatever
    reading a value raises becomes a ``ValidationError`` naming the field.
    """
    allowed = ALLOWED_FIELDS[kind]
    # One pass over the few fields given, in the order they go on the wire.
    message: dict[str, Any] = {"type": kind, "messageId": None, "timestamp": None}
    context: Mapping[str, Any] | None = None
    name = "message"
    try:
        for name, value in fields.items():
            if value is None:
                continue
            if name not in allowed:
                raise _not_a_field(kind, name)
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
        if message["messageId"] is None:
            message["messageId"] = fast_message_id()
        name = "timestamp"
        message["timestamp"] = format_timestamp(fields.get("timestamp"))
        _check_required(kind, message)
        name = "context"
        library = dict(LIBRARY)  # a copy: signal receivers get this dict and may change it
        message["context"] = {"library": library, **context} if context else {"library": library}
    except ValidationError:
        raise
    except Exception as error:  # the value's own methods raised: the caller's input is bad
        raise ValidationError(str(name), f"could not be read: {_describe(error)}") from error
    if "integrations" in message:  # after context, as the spec lists them
        message["integrations"] = message.pop("integrations")
    return message


def message_from_wire(message: object) -> dict[str, Any]:
    """Validate a message in wire form (as a processing step returns it) like a call's.

    Its fields are checked as the call's were, so a step that removed both ids gets the
    usual ``ValidationError``.
    """
    if not isinstance(message, Mapping):
        raise ValidationError("message", f"must be a mapping, got {_kind_of(message)}")
    given = message.get("type")
    kind = _TYPE_BY_NAME.get(given) if isinstance(given, str) else None
    if kind is None:
        raise ValidationError("type", f"must be one of {', '.join(MESSAGE_TYPES)}, got {given!r}")
    fields = {key: value for key, value in message.items() if key != "type"}
    return build_message(kind, normalize_fields(kind, fields, {}))


def encode_message(message: Mapping[str, Any]) -> bytes:
    """The message's UTF-8 JSON; ``ValidationError`` if it cannot be sent or is too large."""
    payload = encode(message)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ValidationError(
            _largest_field(message),
            f"message is {len(payload)} bytes of JSON, over the {MAX_MESSAGE_BYTES}-byte limit",
        )
    return payload


def _coerce_id(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # more digits than Python writes out
            raise ValidationError(name, "is a number too long to send") from None
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise ValidationError(name, f"must be a string or a number, got {_kind_of(value)}")


# The problem of a message without any id; the module-level calls say more about it.
MISSING_IDS = "needs user_id or anonymous_id"


def _check_required(kind: str, message: Mapping[str, Any]) -> None:
    if kind == "alias":
        if not message.get("userId"):
            raise ValidationError("user_id", "alias needs user_id")
        if not message.get("previousId"):
            raise ValidationError("previous_id", "alias needs previous_id")
        return
    if not message.get("userId") and not message.get("anonymousId"):
        raise ValidationError("user_id", f"{kind} {MISSING_IDS}")
    if kind == "track" and not message.get("event"):
        raise ValidationError("event", "track needs a non-empty event name")
    if kind == "group" and not message.get("groupId"):
        raise ValidationError("group_id", "group needs group_id")


def _largest_field(message: Mapping[str, Any]) -> str:
    sizes = {name: len(encode(value)) for name, value in message.items()}
    return max(sizes, key=sizes.__getitem__)


def _not_a_field(kind: str, name: object) -> ValidationError:
    names = ", ".join(sorted(ALLOWED_FIELDS[kind]))
    return ValidationError(str(name), f"is not a field of {kind}; expected one of {names}")


def _kind_of(value: object) -> str:
    return type(value).__name__


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
