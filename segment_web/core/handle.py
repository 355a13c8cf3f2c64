"""``RequestAnalytics`` (the per-request handle), and the context variable that makes
it what ``segment_web.current()`` returns."""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from segment_web.core.calls import MessageCalls
from segment_web.core.message import MessageType, normalize_fields
from segment_web.delivery.entry import Callback
from segment_web.errors import ValidationError

if TYPE_CHECKING:
    from segment_web.core.client import Analytics

P = ParamSpec("P")
R = TypeVar("R")

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

    ``user_id`` may be a callable (a *resolver*): it is asked each time a message is
    built, so every message carries the user as the framework knows it then (a login or
    an authentication inside the view included), and a request that sends nothing never
    loads its user. Resolvers keep their own caches (the Django adapter's re-reads only
    when ``request.user`` was replaced). A resolver that raises or answers something that
    is no id is logged once per request, and the message goes without a user id.
    Setting ``handle.user_id`` (or ``segment_web.identify_request()``) fixes the user for
    the rest of the request.
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
        self._user_loaded = True  # False until a resolver answered once (for repr)
        self._user_failed = False  # a resolver's failure is logged once per request
        if callable(user_id):
            self._resolve_user = user_id
            self._user_loaded = False
        else:
            self._user_id = user_id
        self.anonymous_id = anonymous_id
        self.context: dict[str, Any] = dict(context or {})
        self.integrations: dict[str, Any] = dict(integrations or {})

    @property
    def user_id(self) -> Any:
        """The request's user id now (None for an anonymous visitor)."""
        resolve = self._resolve_user
        if resolve is None:
            return self._user_id
        try:
            value = usable_user_id(resolve())
        except Exception as error:
            value = None
            if not self._user_failed:
                self._user_failed = True
                logger.error(
                    "segment_web: could not read the request's user id; this request's "
                    "messages go without one: %s",
                    error,
                    exc_info=not isinstance(error, BadUserId),
                )
        self._user_id = value
        self._user_loaded = True
        return value

    @user_id.setter
    def user_id(self, value: Any) -> None:
        self._resolve_user = None
        self._user_loaded = True
        self._user_id = value

    def set_user(self, user_id: Any, traits: Mapping[str, Any] | None = None) -> None:
        """Make ``user_id`` the user of the rest of the request (``None``: anonymous from
        here on) without sending anything; ``traits`` go into every later message's
        ``context.traits``. ``ValidationError`` for an id that is no string or number."""
        try:
            user_id = usable_user_id(user_id)
        except BadUserId:
            raise ValidationError(
                "user_id", f"must be a string or a number, got {type(user_id).__name__}"
            ) from None
        if traits is not None:
            if not isinstance(traits, Mapping):
                raise ValidationError("traits", f"must be a mapping, got {type(traits).__name__}")
            below = self.context.get("traits")
            merged = {**below, **traits} if isinstance(below, Mapping) else dict(traits)
            # A new dict: messages already built may share the old one.
            self.context = {**self.context, "traits": merged}
        self.user_id = user_id

    def __repr__(self) -> str:
        # Never resolves a lazy user id: in a debugger or a log line that would be a
        # database query (Django's request.user) the request itself never made.
        user = "<not loaded>" if not self._user_loaded else repr(self._user_id)
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


class BadUserId(ValueError):
    """A user-id resolver answered something that cannot be a user id."""


def usable_user_id(value: Any) -> Any:
    """A resolver's answer as a user id: a string or a number (``UUID`` too) as is,
    ``None`` or ``""`` as no user; anything else (an awaitable from an ``async def``
    resolver a sync adapter cannot await, a bool, a model object) raises ``BadUserId``."""
    if value is None or (isinstance(value, str) and not value):
        return None
    if isinstance(value, str | uuid.UUID) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    ):
        return value
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if close is not None:
            close()  # no "coroutine was never awaited" warning on top of the log
        raise BadUserId(
            "the user_id resolver returned an awaitable: an async resolver is awaited "
            "only by the async adapters (ASGI, Django under ASGI)"
        )
    raise BadUserId(
        f"the user_id resolver returned {type(value).__name__}, not a string or a number"
    )


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


def carry(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, carrying the current request's analytics to wherever it runs: a thread
    pool (``executor.submit(segment_web.carry(fn), ...)``,
    ``loop.run_in_executor(None, segment_web.carry(fn), ...)``) or a thread of its own,
    where ``segment_web.track()`` then sends with the request's user and context.
    Outside a request ``fn`` is returned as it is."""
    handle = current_request_analytics.get()
    if handle is None:
        return fn

    @functools.wraps(fn)
    def carried(*args: P.args, **kwargs: P.kwargs) -> R:
        with activate(handle):
            return fn(*args, **kwargs)

    return carried


def streamed_with(handle: RequestAnalytics, content: Any) -> Any:
    """``content`` (a streamed body, sync or async) with ``handle`` active while each part
    is made, wherever the server iterates it."""
    if hasattr(content, "__aiter__"):
        return _async_streamed_with(handle, content)
    return _streamed_with(handle, iter(content))


def _streamed_with(handle: RequestAnalytics, parts: Iterator[Any]) -> Iterator[Any]:
    try:
        while True:
            if current_request_analytics.get() is handle:
                # Still active (Flask's stream_with_context): not set again, so a teardown
                # inside ``next`` that resets the request's own token leaves nothing set.
                part = next(parts, _END)
            else:
                with activate(handle):
                    part = next(parts, _END)
            if part is _END:
                return
            yield part
    finally:
        close = getattr(parts, "close", None)
        if close is not None:  # the server closing the body closes the app's iterator
            close()


async def _async_streamed_with(handle: RequestAnalytics, content: Any) -> AsyncIterator[Any]:
    parts = content.__aiter__()
    try:
        while True:
            if current_request_analytics.get() is handle:
                try:
                    part = await parts.__anext__()
                except StopAsyncIteration:
                    return
            else:
                with activate(handle):
                    try:
                        part = await parts.__anext__()
                    except StopAsyncIteration:
                        return
            yield part
    finally:
        close = getattr(parts, "aclose", None)
        if close is not None:
            await close()


_END = object()
