"""What every adapter holds per app, and the one boundary that keeps analytics
failures out of the user's responses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .client import Analytics
from .context import RequestFacts, RequestRules, RequestScope
from .module_api import adopt_default
from .settings import SegmentSettings

logger = logging.getLogger("segment_web")


class never_raise:  # lower case: reads as a function, `with never_raise("...")`
    """Log an adapter's own failure once and carry on: analytics never breaks a request.

    A class rather than ``@contextmanager``: it runs several times per request, and a
    generator-based context manager costs several times more.
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
        logger.error(
            "segment_web: %s failed; the response goes on",
            self.action,
            exc_info=(kind, error, traceback),  # type: ignore[arg-type]
        )
        return True


class Integration:
    """One app's analytics: settings, client and request rules, built once at start-up.

    Unless ``segment_web.configure()`` set one, the client also becomes the module-level
    default, so ``segment_web.track()`` works outside requests too (tasks, commands).
    """

    def __init__(self, settings: SegmentSettings, client: Analytics | None = None) -> None:
        self.settings = settings
        self.client = client if client is not None else settings.build_client()
        self.rules = RequestRules(settings)
        adopt_default(self.client)

    def start(
        self, facts: RequestFacts, user_id: Callable[[], Any] | str | int | None = None
    ) -> RequestScope | None:
        """The request's scope, or None (logged) if reading the request failed."""
        with never_raise("starting the request's analytics"):
            return RequestScope(self.rules, self.client, facts, user_id)
        return None

    def finish(
        self,
        scope: RequestScope | None,
        status: int,
        content_type: str | None,
        page_name: str | None,
    ) -> None:
        """Send the automatic page call if the response earns one."""
        if scope is None:
            return
        with never_raise("the automatic page call"):
            scope.finish(status, content_type, page_name)
