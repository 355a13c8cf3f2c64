"""The module-level client: ``segment_web.configure()`` and ``segment_web.track()`` etc.

Inside a request served by an adapter, the module-level calls use that request's
handle (a context variable, so it follows threads and ``async`` code of the request).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from segment_web.core.calls import MessageCalls
from segment_web.core.client import REQUIRED, Analytics
from segment_web.core.handle import current_request_analytics
from segment_web.delivery.entry import Callback
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

_lock = threading.Lock()
_default: Analytics | None = None


def _new_lock_in_forked_child() -> None:
    global _lock
    _lock = threading.Lock()


on_fork_in_child(_new_lock_in_forked_child)


def configure(write_key: str = REQUIRED, **options: Any) -> Analytics:
    """Create the default client (replacing, and flushing, any earlier one)."""
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


def identify(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[IdentifyFields],
) -> str:
    return current().identify(message, callback=callback, **fields)


def track(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[TrackFields],
) -> str:
    return current().track(message, callback=callback, **fields)


def page(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[PageFields],
) -> str:
    return current().page(message, callback=callback, **fields)


def screen(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[PageFields],
) -> str:
    return current().screen(message, callback=callback, **fields)


def group(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[GroupFields],
) -> str:
    return current().group(message, callback=callback, **fields)


def alias(
    message: Mapping[str, Any] | None = None,
    /,
    *,
    callback: Callback | None = None,
    **fields: Unpack[AliasFields],
) -> str:
    return current().alias(message, callback=callback, **fields)


def flush(timeout: float | None = None) -> int:
    """Flush the default client (see ``Analytics.flush``); 0 when none is configured."""
    return _default.flush(timeout) if _default is not None else 0
