"""The ``user_id`` setting's resolvers: sync ones are asked per message (the handle does
that), async ones are awaited once per request here, bounded; and the check that a sync
adapter was not given an async one."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from segment_web.core.handle import usable_user_id

logger = logging.getLogger("segment_web")


def is_async_resolver(resolver: Any) -> bool:
    """True for an ``async def`` function (or an object whose ``__call__`` is one)."""
    if resolver is None:
        return False
    call = getattr(resolver, "__call__", None)  # noqa: B004  (a callable object's method)
    return inspect.iscoroutinefunction(resolver) or inspect.iscoroutinefunction(call)


def refuse_async_resolver(resolver: Any, setting: str, adapter: str) -> None:
    """``ValueError`` when a sync adapter was given an ``async def`` user-id resolver:
    raised when the adapter is built, not on each request."""
    if is_async_resolver(resolver):
        raise ValueError(
            f"{setting} is an async function, but {adapter} calls it synchronously and "
            "cannot await it: give a plain function (read what your authentication "
            "already loaded), or call segment_web.identify_request(user_id) where the "
            "app learns who the user is"
        )


async def await_user_id(resolver: Callable[[Any], Any], request: Any, timeout: float) -> Any:
    """The id an async resolver answers for ``request``, awaited once and for at most
    ``timeout`` seconds (on asyncio; other event loops are not bounded). A resolver that
    raises, times out or answers no id is logged and the request goes without one."""
    try:
        answer = resolver(request)
        if inspect.isawaitable(answer):
            answer = await _bounded(answer, timeout)
        return usable_user_id(answer)
    except Exception as error:
        timed_out = isinstance(error, asyncio.TimeoutError)
        logger.error(
            "segment_web: the async user_id resolver %s; this request's messages go "
            "without a user id",
            f"took longer than {timeout}s" if timed_out else f"failed: {error!r}",
            exc_info=not timed_out,
        )
        return None


async def _bounded(awaitable: Any, timeout: float) -> Any:
    try:
        asyncio.current_task()
    except RuntimeError:  # not asyncio (trio, say): awaited without a bound
        return await awaitable
    return await asyncio.wait_for(awaitable, timeout)
