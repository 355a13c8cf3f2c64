"""The tracking API's request bodies -> validated messages, with Segment's limits.

Pure functions of bytes and headers, so every rule is testable without a server.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from typing import Any

from segment_web.collector.errors import RequestError

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_MESSAGE_BYTES = 32 * 1024  # Segment: "32 KB per call"
MAX_BODY_BYTES = 500 * 1024  # Segment: "500 KB per batch request", before compression

_REALM = {"WWW-Authenticate": 'Basic realm="segment_web collector"'}


def write_key_from_auth(authorization: str | None, required_key: str | None) -> str:
    """The write key from HTTP basic auth (the user name), or a 401 ``RequestError``."""
    if not authorization:
        raise RequestError(
            401, "missing HTTP basic auth: send the write key as the user name", headers=_REALM
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise RequestError(
            401, "use HTTP basic auth with the write key as user name", headers=_REALM
        )
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise RequestError(401, "malformed basic auth credentials", headers=_REALM) from None
    write_key = decoded.partition(":")[0]
    if not write_key:
        raise RequestError(401, "empty write key in basic auth", headers=_REALM)
    if required_key is not None and write_key != required_key:
        raise RequestError(401, "invalid write key", headers=_REALM)
    return write_key


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """The uncompressed body; over ``MAX_BODY_BYTES`` or an unknown encoding is a 400."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        data = _gunzip(raw, MAX_BODY_BYTES)
    elif encoding == "identity":
        data = raw
    else:
        raise RequestError(400, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    if len(data) > MAX_BODY_BYTES:
        raise RequestError(400, _too_large_body())
    return data


def parse_json(data: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, which browsers cannot read back); errors are a 400."""
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        raise RequestError(400, f"malformed JSON: {error}") from None


def batch_messages(body: Any) -> list[dict[str, Any]]:
    """The messages of a ``/v1/batch`` body ``{"batch": [...], ...}``, each checked."""
    if not isinstance(body, dict):
        raise RequestError(400, f"expected a JSON object with a batch list, got {_kind(body)}")
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise RequestError(400, f'"batch" must be a list of messages, got {_kind(batch)}')
    for index, message in enumerate(batch):
        if not isinstance(message, dict):
            raise RequestError(400, f"batch[{index}] must be an object, got {_kind(message)}")
        check_message(message, where=f"batch[{index}]")
    return batch


def single_message(kind: str, body: Any) -> dict[str, Any]:
    """The message of a single-call endpoint such as ``/v1/track``; its type is the path's."""
    if not isinstance(body, dict):
        raise RequestError(400, f"expected a JSON object (one {kind} message), got {_kind(body)}")
    message = {**body, "type": kind}
    check_message(message, where=kind)
    return message


def check_message(message: dict[str, Any], *, where: str) -> None:
    """Segment's required fields and the 32 KB limit; raises a 400 naming ``where``."""
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise RequestError(
            400, f"{where}: type must be one of {', '.join(MESSAGE_TYPES)}, got {kind!r}"
        )
    for name in ("userId", "anonymousId", "previousId", "groupId"):
        value = message.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, str | int | float)
        ):
            raise RequestError(400, f"{where}: {name} must be a string, got {_kind(value)}")
    for name in ("event", "name", "category", "timestamp", "messageId"):
        value = message.get(name)
        if value is not None and not isinstance(value, str):
            raise RequestError(400, f"{where}: {name} must be a string, got {_kind(value)}")
    for name in ("traits", "properties", "context", "integrations"):
        value = message.get(name)
        if value is not None and not isinstance(value, dict):
            raise RequestError(400, f"{where}: {name} must be an object, got {_kind(value)}")
    _check_required(kind, message, where)
    size = len(message_json(message).encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise RequestError(
            400,
            f"{where}: message is {size} bytes of JSON, over the {MAX_MESSAGE_BYTES}-byte limit",
        )


def message_json(message: dict[str, Any]) -> str:
    """Compact JSON, as the client measures it. Lone surrogates come out \\u-escaped."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":"))
    return text


def _check_required(kind: str, message: dict[str, Any], where: str) -> None:
    def present(name: str) -> bool:
        return message.get(name) not in (None, "")

    if kind == "alias":
        missing = [name for name in ("userId", "previousId") if not present(name)]
        if missing:
            raise RequestError(400, f"{where}: alias needs {' and '.join(missing)}")
        return
    if not present("userId") and not present("anonymousId"):
        raise RequestError(400, f"{where}: {kind} needs userId or anonymousId")
    if kind == "track" and not present("event"):
        raise RequestError(400, f"{where}: track needs an event name")
    if kind == "group" and not present("groupId"):
        raise RequestError(400, f"{where}: group needs groupId")


def _gunzip(raw: bytes, limit: int) -> bytes:
    # Decompress in bounded steps: a small gzip body may expand to gigabytes.
    out = bytearray()
    data = raw
    try:
        while data:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise RequestError(400, _too_large_body())
            if not inflater.eof:
                raise RequestError(400, "truncated gzip body")
            data = inflater.unused_data
    except zlib.error as error:
        raise RequestError(400, f"body is not valid gzip: {error}") from None
    return bytes(out)


def _too_large_body() -> str:
    return f"request body is over the {MAX_BODY_BYTES}-byte limit (uncompressed)"


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf and would be stored as Infinity
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "a number"
