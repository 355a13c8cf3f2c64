"""Who a background job is for: the request's identity as plain values for job headers,
and a handle rebuilt from them on the worker. Knows no web framework and no job system.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from segment_web.api import default_client
from segment_web.core.handle import RequestAnalytics, current_request_analytics

logger = logging.getLogger("segment_web")

HEADER = "segment_web"
# The parts of a request's context that still describe the user when a job runs later.
DEFAULT_CONTEXT_KEYS: tuple[str, ...] = ("ip", "userAgent", "locale", "page", "campaign")


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
    when the job carries none (or no client is configured in this worker)."""
    if not isinstance(identity, Mapping):
        return None
    client = default_client()
    if client is None:
        logger.warning(
            "segment_web: a job carries a request's identity but no client is configured "
            "in this worker; call segment_web.configure(...) where the worker starts"
        )
        return None
    context = identity.get("context")
    return RequestAnalytics(
        client,
        user_id=identity.get("userId"),
        anonymous_id=identity.get("anonymousId"),
        context=context if isinstance(context, Mapping) else None,
    )
