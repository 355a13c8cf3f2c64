"""``RequestAnalytics`` (the per-request handle), and the context variable that makes
it what ``segment_web.current()`` returns."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from segment_web.core.calls import MessageCalls
from segment_web.core.message import MessageType, normalize_fields
from segment_web.delivery.entry import Callback

if TYPE_CHECKING:
    from segment_web.core.client import Analytics

logger = logging.getLogger("segment_web")

current_request_analytics: ContextVar[RequestAnalytics | None] = ContextVar(
    "segment_web_request_analytics", default=None
)


class RequestAnalytics(MessageCalls):
    """The six calls, pre-filled with what the request tells: user, anonymous id, context.

    Explicit arguments always win; a given ``context`` is deep-merged over the request's,
    given ``integrations`` are merged over the request's (the consent cookie's flags).
    After ``identify(user_id=...)`` the rest of the request's calls carry that user id.
    ``alias(user_id=...)`` takes ``previous_id`` from the request's user or anonymous id.
    ``user_id`` may be a callable: it is called once, when a message first needs it, so a
    request that sends nothing never loads its user.
    """

    def __init__(
        self,
        client: Analytics,
        *,
        user_id: Callable[[], Any] | str | int | None = None,
        anonymous_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        integrations: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self._user_id: Any = None
        self._resolve_user: Callable[[], Any] | None = None
        if callable(user_id):
            self._resolve_user = user_id
        else:
            self._user_id = user_id
        self.anonymous_id = anonymous_id
        self.context: dict[str, Any] = dict(context or {})
        self.integrations: dict[str, Any] = dict(integrations or {})

    @property
    def user_id(self) -> Any:
        """The request's user id (None for an anonymous visitor)."""
        resolve = self._resolve_user
        if resolve is not None:
            self._resolve_user = None
            try:
                self._user_id = resolve()
            except Exception:
                logger.exception("segment_web: could not read the request's user id")
        return self._user_id

    @user_id.setter
    def user_id(self, value: Any) -> None:
        self._resolve_user = None
        self._user_id = value

    def __repr__(self) -> str:
        # Never resolves a lazy user id: in a debugger or a log line that would be a
        # database query (Django's request.user) the request itself never made.
        user = "<not loaded>" if self._resolve_user is not None else repr(self._user_id)
        return f"<RequestAnalytics user_id={user} anonymous_id={self.anonymous_id!r}>"

    def _send(
        self,
        kind: MessageType,
        message: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
        callback: Callback | None,
    ) -> str:
        merged = normalize_fields(kind, message, fields)
        user_id = self.user_id
        if kind == "alias":
            previous = user_id if user_id is not None else self.anonymous_id
            if previous is not None and str(previous) != str(merged.get("user_id")):
                merged.setdefault("previous_id", previous)
        else:
            if user_id is not None:
                merged.setdefault("user_id", user_id)
            if self.anonymous_id is not None:
                merged.setdefault("anonymous_id", self.anonymous_id)
        if self.context:
            given = merged.get("context")
            # Not copied when no context is given: build_message makes the message's own.
            merged["context"] = deep_merge(self.context, given) if given else self.context
        if self.integrations:
            given = merged.get("integrations")
            if given is None or isinstance(given, Mapping):  # else: the usual ValidationError
                merged["integrations"] = {**self.integrations, **(given or {})}
        message_id = self.client.enqueue(kind, merged, callback)
        if kind == "identify" and "user_id" in merged:
            self.user_id = merged["user_id"]
        return message_id


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``override`` over ``base``, merging nested mappings key by key."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


class activate:  # lower case: used as a function, `with activate(handle):`
    """Make ``handle`` what ``segment_web.current()`` (and so ``segment_web.track()``
    etc.) uses inside the block: a request served by an adapter, or a background job
    run on behalf of one (its handle rebuilt from the job's headers)."""

    # A plain class used directly: this runs on every request, and a generator-based
    # context manager (or a function returning one) costs more to enter and leave.
    __slots__ = ("_handle", "_token")

    def __init__(self, handle: RequestAnalytics) -> None:
        self._handle = handle

    def __enter__(self) -> RequestAnalytics:
        self._token = current_request_analytics.set(self._handle)
        return self._handle

    def __exit__(self, *exc_info: object) -> None:
        current_request_analytics.reset(self._token)
