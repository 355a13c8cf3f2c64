"""JSON encoding of message payloads: once, at call time, with exact byte sizes.

The fast path is the stdlib C encoder plus two byte scans of its output. Only when
the encoder refuses a value, or a scan finds something to look at, do the slow paths
run: one replaces NaN and infinities with ``null`` (as ``JSON.stringify`` does), the
others walk the value to name the field path that cannot be sent.

What is refused besides values JSON has no form for: a mapping whose keys collide once
made strings (``{1: "a", "1": "b"}`` would arrive with one value lost), integers too
long to write out, strings that are not valid Unicode (a lone surrogate), and nesting
deeper than ``MAX_DEPTH`` levels of objects and arrays.

With the ``speedups`` extra (``orjson``) installed, ``orjson`` encodes first; where its
bytes could differ from the standard library's, or it refuses a value, the
standard-library path runs instead (see ``json_backend``), so the bytes and the errors
are the same either way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any

from segment_web.errors import ValidationError
from segment_web.wire.json_backend import fast_encoder

# A request body may nest at most 100 levels of objects and arrays: the strictest
# default among common JSON parsers (Ruby's max_nesting is 100, serde_json's 128), so a
# server built on any of them accepts what we send. A message sits two levels down in
# the body (``{"batch": [message]}``), which leaves it 98 levels, itself included.
MAX_BODY_DEPTH = 100
MAX_DEPTH = MAX_BODY_DEPTH - 2

_SCALARS = (str, int, float, bool, type(None))


def _to_json_value(value: Any) -> Any:
    """Turn a value the C encoder does not know into one it does; TypeError if none."""
    if isinstance(value, dt.datetime):
        # A naive datetime means UTC here, as it does for a message's timestamp.
        return value.isoformat() if value.utcoffset() is not None else f"{value.isoformat()}+00:00"
    if isinstance(value, dt.date | dt.time):
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
    if _is_bytes_like(value):
        # Raw bytes have no JSON form, whatever holds them (bytes, bytearray, memoryview,
        # array.array, mmap…): never sent as a list of byte values.
        raise TypeError(
            f"a value of type {type(value).__name__} is bytes-like and cannot be sent as "
            "JSON: decode it to text (or base64), or make it a list"
        )
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent as JSON")


def _is_bytes_like(value: Any) -> bool:
    """Whether ``value`` exposes the buffer protocol (Python's "bytes-like object")."""
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    try:
        memoryview(value).release()
    except TypeError:
        return False
    return True


# check_circular=False: a circular value still fails (RecursionError), and the slow
# path names its field; the per-container bookkeeping is saved on every call.
_encoder = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
    default=_to_json_value,
)


def _make_encode() -> Callable[[Any], str]:
    """``_encoder.encode``, minus the work ``JSONEncoder`` redoes on every call.

    ``JSONEncoder.encode`` makes a new C encoder for each value; the C encoder made once
    with the same settings gives the same text for a fraction of a call's cost.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (PyPy): the documented path
        return _encoder.encode
    try:
        # c_make_encoder's arguments are positional: (markers, default, encoder, indent,
        # key_separator, item_separator, sort_keys, skipkeys, allow_nan), the order in
        # which JSONEncoder.iterencode passes them (CPython 3.10-3.13).
        c_encoder = make(
            None,  # markers: no circular-reference bookkeeping, as check_circular=False
            _to_json_value,  # default
            json.encoder.encode_basestring,  # encoder: ensure_ascii=False
            None,  # indent
            _encoder.key_separator,
            _encoder.item_separator,
            False,  # sort_keys
            False,  # skipkeys
            False,  # allow_nan
        )
        probe = {"a": [1.5, None, "é", 10**20]}
        if "".join(c_encoder(probe, 0)) != _encoder.encode(probe):
            return _encoder.encode
    except Exception:  # another signature in another Python version
        return _encoder.encode

    def encode(value: Any) -> str:
        return "".join(c_encoder(value, 0))

    return encode


_encode = _make_encode()
_fast_encode = fast_encoder(_to_json_value, lambda value: _encode(value).encode("utf-8"))

# A key the encoder made from a number ends in a digit ("1":), one made from True,
# False or None reads "true":, "false": or "null":. Only a payload holding such a key
# can hold two keys that collided, so only then is the value walked to look. (Anchored
# on '":' and looking back, so the scan runs at C speed.)
_KEY_FROM_NON_STRING = re.compile(rb'":(?:(?<=[0-9]":)|(?<="(?:true|null)":)|(?<="false":))')
_STRING_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# As ints: given a bytes object, bytes.count and `in` first try it as an int and fail
# (an exception made and discarded) before searching; "in" then also loses memchr.
_OPEN_OBJECT, _OPEN_ARRAY = ord("{"), ord("[")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"{}[]")
# opening bracket -> 2, closing -> 0: less one, the step up or down in depth
_STEP = bytes.maketrans(b"{[}]", b"\x02\x02\x00\x00")


def encode(value: Any, *, max_depth: int = MAX_DEPTH) -> bytes:
    """UTF-8 JSON of ``value``; ``ValidationError`` naming the field path it cannot encode.

    The top-level keys of a message name its fields, so paths read ``properties.cart.0``.
    Whatever a value's own methods raise while it is converted becomes that error too.
    """
    fast = _fast_encode(value) if _fast_encode is not None else None
    payload = fast if fast is not None else _encode_any(value)
    # Fewer opening brackets in all than the limit cannot nest deeper than it: a count at
    # C speed settles nearly every payload (the arrays' only when there is one: finding
    # none is a memchr, far quicker than counting).
    openings = payload.count(_OPEN_OBJECT)
    if _OPEN_ARRAY in payload:
        openings += payload.count(_OPEN_ARRAY)
    if openings > max_depth and _depth(payload) > max_depth:
        raise ValidationError(
            _field_name(_deep_path(value, max_depth)),
            f"nested deeper than {max_depth} levels of objects and arrays",
        )
    # orjson refuses keys that are not strings, so only the standard library's output
    # can hold two keys that collided once made strings.
    if fast is None and _KEY_FROM_NON_STRING.search(payload):
        collision = _find_collision(value, ())
        if collision:
            path, problem = collision
            raise ValidationError(_field_name(path), problem)
    return payload


def _encode_any(value: Any) -> bytes:
    try:
        return _encode(value).encode("utf-8")
    except ValueError as error:
        if "Out of range float" not in str(error):
            raise _locate(value, error) from error
    except Exception as error:
        raise _locate(value, error) from error
    try:
        return _encode(_finite(value, 0)).encode("utf-8")
    except Exception as error:
        raise _locate(value, error) from error


def _finite(value: Any, depth: int) -> Any:
    """A copy of ``value`` with non-finite floats as None, for the NaN slow path."""
    if depth > MAX_BODY_DEPTH:
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


def _depth(payload: bytes) -> int:
    """How deep objects and arrays nest in valid JSON ``payload``."""
    structure = _STRING_LITERAL.sub(b"", payload).translate(None, _NOT_BRACKETS)
    return max(accumulate(byte - 1 for byte in structure.translate(_STEP)), default=0)


def _deep_path(value: Any, max_depth: int) -> tuple[object, ...]:
    """The path to the first object or array nested deeper than ``max_depth``."""
    # Iterative: the value may nest about as deep as the interpreter's recursion limit.
    stack: list[tuple[Any, tuple[object, ...], int]] = [(value, (), 1)]
    try:
        while stack:
            item, path, level = stack.pop()
            if isinstance(item, _SCALARS):
                continue
            if isinstance(item, dict | list | tuple) and level > max_depth:
                return path
            if isinstance(item, dict):
                stack.extend((child, (*path, key), level + 1) for key, child in item.items())
            elif isinstance(item, list | tuple):
                stack.extend((child, (*path, n), level + 1) for n, child in enumerate(item))
            else:
                stack.append((_to_json_value(item), path, level))
    except Exception:  # a value that converts differently the second time
        pass
    return ()


def _json_key(key: object) -> str:
    """The string the encoder makes of a dict key."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, float):
        return json.dumps(key)  # NaN and infinities too, as the encoder writes them
    return str(key)


def _find_collision(value: Any, path: tuple[object, ...]) -> tuple[tuple[object, ...], str] | None:
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, dict):
        seen: dict[str, object] = {}
        for key, item in value.items():
            name = _json_key(key)
            if name in seen:
                return (
                    *path,
                    name,
                ), f"keys {seen[name]!r} and {key!r} are the same once made strings"
            seen[name] = key
            found = _find_collision(item, (*path, name))
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find_collision(item, (*path, index))
            if found:
                return found
        return None
    return _find_collision(_to_json_value(value), path)


def _locate(value: Any, error: BaseException) -> ValidationError:
    try:
        found = _find_problem(value, (), set(), 0)
    except Exception as walk_error:  # a value that fails differently the second time
        found = (), f"{type(walk_error).__name__}: {walk_error}"
    path, problem = found or ((), f"{type(error).__name__}: {error}")
    return ValidationError(_field_name(path), problem)


def _field_name(path: tuple[object, ...]) -> str:
    return ".".join(str(part) for part in path) or "message"


def _find_problem(
    value: Any, path: tuple[object, ...], seen: set[int], depth: int
) -> tuple[tuple[object, ...], str] | None:
    if depth > MAX_DEPTH:
        return path, f"nested deeper than {MAX_DEPTH} levels of objects and arrays"
    if isinstance(value, str):
        return _string_problem(value, path)
    if isinstance(value, int):
        return _integer_problem(value, path)
    if isinstance(value, _SCALARS):
        return None
    if id(value) in seen:
        return path, "circular reference"
    if isinstance(value, dict):
        seen = seen | {id(value)}
        for key, item in value.items():
            if not isinstance(key, _SCALARS):
                return (*path, repr(key)), f"key of type {type(key).__name__} is not a string"
            found = _key_problem(key, path) or _find_problem(item, (*path, key), seen, depth + 1)
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
    except Exception as error:  # whatever the value's own methods raise is the answer
        return path, f"a {type(value).__name__} could not be converted: {_describe(error)}"
    return _find_problem(converted, path, seen | {id(value)}, depth + 1)


def _key_problem(key: object, path: tuple[object, ...]) -> tuple[tuple[object, ...], str] | None:
    if isinstance(key, str):
        return _string_problem(key, (*path, key))
    if isinstance(key, float) and not math.isfinite(key):
        return path, f"key {key!r} is not a finite number"
    if isinstance(key, int) and _integer_problem(key, path):
        return path, f"key of {key.bit_length()} bits is too long to send"
    return None


def _string_problem(text: str, path: tuple[object, ...]) -> tuple[tuple[object, ...], str] | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path, "string is not valid Unicode (lone surrogate)"
    return None


def _integer_problem(
    number: int, path: tuple[object, ...]
) -> tuple[tuple[object, ...], str] | None:
    try:
        int.__repr__(number)
    except ValueError:
        return path, f"integer of {number.bit_length()} bits is too long to send"
    return None


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
