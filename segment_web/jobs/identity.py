"""Who a background job is for: the request's identity as plain values for job headers,
and a handle rebuilt from them on the worker. Knows no web framework and no job system.

A job's headers (Celery) or meta (RQ) are untrusted input: anyone who can write to the
broker writes them, and RQ's meta may hold any Python object. The identity is rebuilt
under the request layer's rules, so that a job's ``track()`` never fails because of it:
an id must be a string or an integer of at most ``MAX_ID_BYTES`` of JSON (a longer id is
dropped, never cut into another user's id); the context must be a mapping with string
keys, each part of it a JSON value (NaN becomes null, as in any message) that nests at
most ``MAX_CONTEXT_DEPTH`` levels, has no keys that collide once made strings, and fits
the size bounds. Whatever breaks a rule is left out and logged at WARNING, naming the
field and why; the rest of the identity is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from segment_web.api import default_client
from segment_web.core.handle import RequestAnalytics, current_request_analytics
from segment_web.errors import ValidationError
from segment_web.web.limits import json_size
from segment_web.wire.json_backend import loads
from segment_web.wire.serialize import encode

logger = logging.getLogger("segment_web")

HEADER = "segment_web"
# The parts of a request's context that still describe the user when a job runs later.
DEFAULT_CONTEXT_KEYS: tuple[str, ...] = ("ip", "userAgent", "locale", "page", "campaign")

# Bounds on a rebuilt identity, in JSON bytes. A request's own context parts stay under
# about 9 KB with every request limit at its maximum (segment_web.web.limits).
MAX_ID_BYTES = 1024
MAX_CONTEXT_KEY_BYTES = 128
MAX_CONTEXT_BYTES = 16 * 1024
MAX_CONTEXT_DEPTH = 8  # a request's context nests 2 (page.url); room for the app's own
_MAX_INTEGER_BITS = 3 * MAX_ID_BYTES  # an integer id of at most about MAX_ID_BYTES digits


def identity_of_current_request(
    context_keys: Iterable[str] = DEFAULT_CONTEXT_KEYS,
) -> dict[str, Any] | None:
    """The current request's user id, anonymous id and chosen context parts, as plain
    JSON values; None outside a request (a job published there carries nothing)."""
    handle = current_request_analytics.get()
    if handle is None:
        return None
    identity: dict[str, Any] = {}
    user_id = handle.user_id
    if user_id is not None:
        identity["userId"] = user_id if isinstance(user_id, str | int) else str(user_id)
    if handle.anonymous_id is not None:
        identity["anonymousId"] = handle.anonymous_id
    context = {key: handle.context[key] for key in context_keys if key in handle.context}
    if context:
        identity["context"] = context
    return identity or None


def handle_from_identity(identity: Any) -> RequestAnalytics | None:
    """A handle on the default client pre-filled from a job's identity header, or None
    when the job carries none (or no client is configured in this worker). Never raises:
    the fields that break the rules (module docstring) are left out and logged."""
    if not isinstance(identity, Mapping):
        return None
    client = default_client()
    if client is None:
        logger.warning(
            "segment_web: a job carries a request's identity but no client is configured "
            "in this worker; call segment_web.configure(...) where the worker starts"
        )
        return None
    try:
        user_id = _job_id(identity, "userId")
        anonymous_id = _job_id(identity, "anonymousId")
        context = _job_context(identity.get("context"))
    except Exception:  # a mapping whose own methods fail: the job runs without identity
        logger.exception("segment_web: a job's identity could not be read; it is ignored")
        return None
    return RequestAnalytics(client, user_id=user_id, anonymous_id=anonymous_id, context=context)


def _dropped(field: str, reason: str) -> None:
    logger.warning("segment_web: a job's identity: %s dropped: %s", field, reason)


def _job_id(identity: Mapping[Any, Any], field: str) -> str | None:
    value = identity.get(field)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _MAX_INTEGER_BITS:
            _dropped(field, f"an integer over {MAX_ID_BYTES} digits")
            return None
        return str(value)
    if not isinstance(value, str):
        _dropped(field, f"must be a string or an integer, got {type(value).__name__}")
        return None
    if not value:
        _dropped(field, "is empty")
        return None
    size = _json_bytes(value, MAX_ID_BYTES)
    if size is None:
        _dropped(field, "not valid Unicode (a lone surrogate)")
        return None
    if size > MAX_ID_BYTES:
        _dropped(field, f"{len(value)} characters, over {MAX_ID_BYTES} bytes of JSON")
        return None
    return value


def _json_bytes(text: str, limit: int) -> int | None:
    """``text``'s size in JSON (more than ``limit`` without measuring a huge text),
    None when it cannot be sent (a lone surrogate)."""
    if len(text) > limit:
        return len(text)
    try:
        return json_size(text)
    except UnicodeEncodeError:
        return None


def _job_context(context: object) -> dict[str, Any] | None:
    if context is None:
        return None
    if not isinstance(context, Mapping):
        _dropped("context", f"must be a mapping, got {type(context).__name__}")
        return None
    kept: dict[str, Any] = {}
    used = 0
    for key, value in context.items():
        key_size = _json_bytes(key, MAX_CONTEXT_KEY_BYTES) if isinstance(key, str) else None
        if not key or key_size is None or key_size > MAX_CONTEXT_KEY_BYTES:
            _dropped(
                f"a context key of type {type(key).__name__}",
                f"must be a non-empty string of at most {MAX_CONTEXT_KEY_BYTES} bytes",
            )
            continue
        field = f"context.{key}"
        try:
            payload = encode(value, max_depth=MAX_CONTEXT_DEPTH)
        except ValidationError as error:
            _dropped(field, str(error))
            continue
        size = len(payload) + key_size + 4  # "key": and a comma
        if used + size > MAX_CONTEXT_BYTES:
            _dropped(field, f"the context is over {MAX_CONTEXT_BYTES} bytes of JSON")
            continue
        used += size
        kept[key] = loads(payload)  # plain JSON values: NaN is null, as it is sent
    return kept
