"""What every adapter holds per app, and the one boundary that keeps analytics
failures out of the user's responses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from segment_web.api import adopt_default
from segment_web.core.client import Analytics
from segment_web.web.context import RequestRules
from segment_web.web.facts import RequestFacts
from segment_web.web.health import health, pool_health
from segment_web.web.settings import SegmentSettings
from segment_web.web.tenants import ClientPool
from segment_web.web.tracked_request import TrackedRequest

logger = logging.getLogger("segment_web")


def log_failure(action: str, error: BaseException | None = None) -> None:
    """Log ``error`` (by default the exception being handled: call it in an ``except
    Exception:`` block) as an adapter's own failure: the response goes on. The
    per-request paths use this with a plain ``try``, which costs nothing until something
    raises."""
    logger.error("segment_web: %s failed; the response goes on", action, exc_info=error or True)


class never_raise:  # lower case: reads as a function, `with never_raise("...")`
    """Log an adapter's own failure once and carry on: analytics never breaks a request.

    For the paths that run once (start-up, shutdown, the async user lookup); the
    per-request ones use ``try`` and ``log_failure``, which cost nothing until a failure.
    """

    __slots__ = ("action",)

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        log_failure(self.action, error)
        return True


# The key of a client built without one: ``Analytics`` needs a key, and such a client
# is disabled (calls validate, nothing is sent), so the key never leaves the process.
MISSING_WRITE_KEY = "segment-web-missing-write-key"


def build_client(settings: SegmentSettings) -> Analytics:
    """The client ``settings`` describe. Without a write key the site keeps running: the
    client is built disabled (calls validate, nothing is sent, callbacks fire), and the
    adapter has already warned that the write key is missing."""
    options = settings.client_options()
    write_key = settings.write_key
    if not isinstance(write_key, str) or not write_key:
        # None, or per request (a callable): this client serves the requests without a
        # usable key, and sends nothing.
        options["enable"] = False
        write_key = MISSING_WRITE_KEY
    if callable(options["host"]):
        del options["host"]
    return Analytics(write_key, **options)


class Integration:
    """One app's analytics: settings, client and request rules, built once at start-up.

    ``client`` is ``build_client(settings)`` unless one is given. Building an integration
    changes nothing global; an adapter that wants ``segment_web.track()`` to work outside
    requests calls ``adopt_as_default()``.

    With a callable write key, ``pool`` holds one client per (write key, host), chosen
    per request from ``facts.request`` (or with no argument when ``zero_arg``: Flask);
    ``client`` is then a disabled client, used by requests without a usable key.
    """

    def __init__(
        self, settings: SegmentSettings, client: Analytics | None = None, *, zero_arg: bool = False
    ) -> None:
        self.settings = settings
        self.client = client if client is not None else build_client(settings)
        self.rules = RequestRules(settings)
        self.pool = (
            ClientPool(settings, self.client, zero_arg=zero_arg) if settings.per_request else None
        )

    def adopt_as_default(self) -> bool:
        """Make this client the module-level default (what ``segment_web.track()`` uses
        outside requests: tasks, commands), unless ``segment_web.configure()`` or an
        earlier app set one that is still open. True if it did. Never with a per-request
        write key: outside a request there is no tenant to send for."""
        if self.pool is not None:
            return False
        return adopt_default(self.client)

    def flush(self) -> None:
        """Flush the client (every pooled one too), each bounded by its shutdown_timeout."""
        if self.pool is not None:
            self.pool.flush()
        self.client.flush(timeout=self.client.shutdown_timeout)

    async def aflush(self) -> None:
        """``flush()`` off the event loop."""
        if self.pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pool.flush)
        await self.client.aflush(timeout=self.client.shutdown_timeout)

    def shutdown(self) -> None:
        """Shut the client (every pooled one too) down, flushed."""
        if self.pool is not None:
            self.pool.shutdown()
        self.client.shutdown(timeout=self.client.shutdown_timeout)

    def health(self) -> tuple[int, bytes]:
        """The health answer (``segment_web.web.health``): the client's, or with a
        per-request write key every pooled client's."""
        max_failing = self.settings.health_max_failing
        if self.pool is None:
            return health(self.client, max_failing)
        return pool_health(self.pool.clients(), max_failing)

    async def aclient_for(self, request: Any) -> Analytics | None:
        """The client of ``request`` (the framework's request: what a callable write key
        is given), a new tenant's built on a worker thread, so that opening its spool
        never blocks the event loop. Without a per-request write key, ``client``; None
        when choosing failed (logged), and ``start()`` then chooses."""
        pool = self.pool
        if pool is None:
            return self.client
        with never_raise("choosing the request's client"):
            key = pool.choose(request)
            if key is None:
                return self.client
            loop = asyncio.get_running_loop()
            return pool.pooled(key) or await loop.run_in_executor(None, pool.get_or_build, key)
        return None

    def start(
        self,
        facts: RequestFacts,
        user_id: Callable[[], Any] | str | int | None = None,
        client: Analytics | None = None,
    ) -> TrackedRequest | None:
        """The request's analytics, or None (logged) if reading the request failed.
        ``client``: the one ``aclient_for`` chose, else it is chosen here."""
        try:
            if client is None:
                client = self.client if self.pool is None else self.pool.client_for(facts.request)
            return TrackedRequest(self.rules, client, facts, user_id)
        except Exception:
            log_failure("starting the request's analytics")
            return None

    def finish(
        self,
        tracked: TrackedRequest | None,
        status: int,
        content_type: str | None,
        page_name: str | None,
    ) -> None:
        """Send the automatic page call if the response earns one."""
        if tracked is None:
            return
        try:
            tracked.finish(status, content_type, page_name)
        except Exception:
            log_failure("the automatic page call")
