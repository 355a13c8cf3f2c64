"""The module-level client: ``segment_web.configure()`` and ``segment_web.track()`` etc.

Inside a request served by an adapter, the module-level calls use that request's
handle (a context variable, so it follows threads and ``async`` code of the request).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from segment_web.core.calls import MessageCalls
from segment_web.core.client import REQUIRED, Analytics
from segment_web.core.handle import current_request_analytics
from segment_web.core.message import MISSING_IDS
from segment_web.delivery.entry import Callback
from segment_web.errors import ValidationError
from segment_web.process.registry import on_fork_in_child

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from segment_web.core.calls import (
        AliasFields,
        GroupFields,
        IdentifyFields,
        PageFields,
        TrackFields,
    )
    from segment_web.core.options import ClientOptions

_lock = threading.Lock()
_default: Analytics | None = None


def _new_lock_in_forked_child() -> None:
    global _lock
    _lock = threading.Lock()


on_fork_in_child(_new_lock_in_forked_child)


def configure(write_key: str = REQUIRED, **options: Unpack[ClientOptions]) -> Analytics:
    """Create the default client (replacing, and flushing, any earlier one); ``options``
    are ``Analytics``'s keyword options."""
    global _default
    client = Analytics(write_key, **options)
    with _lock:
        previous, _default = _default, client
    if previous is not None:
        previous.shutdown(timeout=previous.shutdown_timeout)
    return client


def adopt_default(client: Analytics) -> bool:
    """Make ``client`` the module-level default, unless ``configure()`` (or an earlier
    adapter) set one that is still open. True if it did. The adapters call this at
    start-up (``Integration.adopt_as_default``), so ``segment_web.track()`` works outside
    requests in an app that never called ``configure()``."""
    global _default
    with _lock:
        if _default is not None and not _default.closed:
            return False
        _default = client
        return True


def default_client() -> Analytics | None:
    """The client set by ``configure()``, if any."""
    return _default


@contextlib.contextmanager
def default_client_set_to(client: Analytics | None) -> Iterator[Analytics | None]:
    """Within the ``with`` block, ``client`` (or none) is the module-level default; the
    one before comes back after. For tests: ``segment_web.testing`` uses it."""
    global _default
    with _lock:
        saved, _default = _default, client
    try:
        yield client
    finally:
        with _lock:
            _default = saved


def current() -> MessageCalls:
    """The current request's handle inside a request, else the configured client."""
    handle = current_request_analytics.get()
    if handle is not None:
        return handle
    if _default is None:
        raise RuntimeError(
            "segment_web is not configured: call segment_web.configure(write_key=...) first"
        )
    return _default


def identify_request(user_id: str | int | None, traits: Mapping[str, Any] | None = None) -> None:
    """Say who the current request's user is, from anywhere in the request, without
    sending anything: the request's later messages and its automatic page call carry
    ``user_id`` (``None``: none from here on), and ``traits`` go into their
    ``context.traits``. For an authentication the adapter cannot see: a DRF
    authentication class, a FastAPI dependency, a Litestar guard, Flask code.

    ``ValidationError`` for an id that is no string or number; ``RuntimeError`` outside
    a request (a job handed to a thread pool: wrap it in ``segment_web.carry``)."""
    handle = current_request_analytics.get()
    if handle is None:
        raise RuntimeError(
            "segment_web.identify_request() was called outside a request: call it while a "
            "request served by a segment_web adapter runs (in a thread pool, wrap the "
            "function with segment_web.carry(fn) where the request hands it over)"
        )
    handle.set_user(user_id, traits)


def _send(call: Callable[[MessageCalls], str]) -> str:
    """``call`` on the current request's handle, else on the default client, where a
    message without any id gets an error that says it was made outside a request."""
    handle = current_request_analytics.get()
    if handle is not None:
        return call(handle)
    try:
        return call(current())
    except ValidationError as error:
        if error.field != "user_id" or not error.problem.endswith(MISSING_IDS):
            raise
        raise ValidationError(
            "user_id",
            f"{error.problem}: the call was made outside a request (no request's analytics "
            "is active in this thread or task), so none was filled in. Pass user_id= or "
            "anonymous_id=, or, for work a request hands to a thread pool, submit "
            "segment_web.carry(fn) instead of fn",
        ) from None


def identify(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[IdentifyFields],
) -> str:
    return _send(lambda calls: calls.identify(message, callback=callback, **fields))


def track(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[TrackFields],
) -> str:
    return _send(lambda calls: calls.track(message, callback=callback, **fields))


def page(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[PageFields],
) -> str:
    return _send(lambda calls: calls.page(message, callback=callback, **fields))


def screen(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[PageFields],
) -> str:
    return _send(lambda calls: calls.screen(message, callback=callback, **fields))


def group(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[GroupFields],
) -> str:
    return _send(lambda calls: calls.group(message, callback=callback, **fields))


def alias(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[AliasFields],
) -> str:
    return _send(lambda calls: calls.alias(message, callback=callback, **fields))


def flush(timeout: float | None = None) -> int:
    """Flush the default client (see ``Analytics.flush``); 0 when none is configured."""
    return _default.flush(timeout) if _default is not None else 0
