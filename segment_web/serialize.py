"""JSON encoding of message payloads: once, at call time, with exact byte sizes.

The fast path is the stdlib C encoder. Only when it refuses a value do the slow
paths run: one replaces NaN and infinities with ``null`` (as ``JSON.stringify``
does), the other walks the value to name the field path that cannot be encoded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ValidationError

_SCALARS = (str, int, float, bool, type(None))


def _to_json_value(value: Any) -> Any:
    """Turn a value the C encoder does not know into one it does; TypeError if none."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)  # pydantic v2, without importing it
    if callable(model_dump):
        return model_dump(mode="json")
    if callable(getattr(value, "dict", None)) and hasattr(value, "__fields__"):  # pydantic v1
        return value.dict()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent as JSON")


# check_circular=False: a circular value still fails (RecursionError), and the slow
# path names its field; the per-container bookkeeping is saved on every call.
_encode = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
    default=_to_json_value,
).encode


def encode(value: Any) -> bytes:
    """UTF-8 JSON of ``value``; ``ValidationError`` naming the field path it cannot encode.

    The top-level keys of a message name its fields, so paths read ``properties.cart.0``.
    """
    try:
        return _encode(value).encode("utf-8")
    except ValueError as error:
        if "Out of range float" not in str(error):
            raise _locate(value, error) from error
    except (TypeError, RecursionError, UnicodeEncodeError) as error:
        raise _locate(value, error) from error
    try:
        return _encode(_finite(value, 0)).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:
        raise _locate(value, error) from error


def _finite(value: Any, depth: int) -> Any:
    """A copy of ``value`` with non-finite floats as None, for the NaN slow path."""
    if depth > 200:
        raise RecursionError("nested too deeply")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, depth + 1) for v in value]
    return _finite(_to_json_value(value), depth + 1)


def _locate(value: Any, error: BaseException) -> ValidationError:
    path, problem = _find_problem(value, (), set(), 0) or ((), str(error))
    field = ".".join(str(part) for part in path) or "message"
    return ValidationError(field, problem)


def _find_problem(
    value: Any, path: tuple[object, ...], seen: set[int], depth: int
) -> tuple[tuple[object, ...], str] | None:
    if depth > 200:
        return path, "nested too deeply to send as JSON"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "string is not valid Unicode (lone surrogate)"
        return None
    if isinstance(value, _SCALARS):
        return None
    if id(value) in seen:
        return path, "circular reference"
    if isinstance(value, dict):
        seen = seen | {id(value)}
        for key, item in value.items():
            if not isinstance(key, _SCALARS):
                return (*path, repr(key)), f"key of type {type(key).__name__} is not a string"
            found = _find_problem(item, (*path, key), seen, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        seen = seen | {id(value)}
        for index, item in enumerate(value):
            found = _find_problem(item, (*path, index), seen, depth + 1)
            if found:
                return found
        return None
    try:
        converted = _to_json_value(value)
    except Exception as error:  # any failure here is the answer we look for
        return path, str(error)
    return _find_problem(converted, path, seen | {id(value)}, depth + 1)
