"""Trace correlation (opt-in, ``trace_context=True``; needs ``opentelemetry-api``, extra
``[otel]``): the current OpenTelemetry span's ids on each message as ``context.trace``
(``{"traceId": 32 hex digits, "spanId": 16}``), so an event can be found from its trace
and a trace from its event. A message made outside any span carries none; a caller's
own ``context.trace`` is kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    from opentelemetry import trace
except ImportError:  # the option says what to install
    trace = None  # type: ignore[assignment]

MISSING = "needs opentelemetry-api: pip install 'segment-web[otel]'"


def is_trace_option(value: Any) -> str | None:
    if not isinstance(value, bool):
        return "must be True or False"
    if value and trace is None:
        return MISSING
    return None


def current_ids() -> dict[str, str] | None:
    """The current span's ids in the W3C form, or None outside a valid span."""
    ids = trace.get_current_span().get_span_context()
    if not ids.is_valid:
        return None
    return {"traceId": format(ids.trace_id, "032x"), "spanId": format(ids.span_id, "016x")}


def with_trace(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``fields`` with the current trace ids added to their context, if any."""
    ids = current_ids()
    if ids is None:
        return fields
    context = fields.get("context")
    if context is None:
        return {**fields, "context": {"trace": ids}}
    if not isinstance(context, Mapping) or "trace" in context:
        return fields  # the caller's own (or an invalid context, for validation to report)
    return {**fields, "context": {**context, "trace": ids}}


def server_span() -> Any:
    """The span current as a request starts (the server span an instrumentation outside
    the adapter opened), or None when it records nothing."""
    if trace is None:
        return None
    span = trace.get_current_span()
    return span if span.is_recording() else None


def tag_user(span: Any, user_id: Any) -> Any:
    """Set ``enduser.id`` on ``span`` from a resolved user id; returns the id."""
    if span is not None and user_id is not None:
        span.set_attribute("enduser.id", str(user_id))
    return user_id
