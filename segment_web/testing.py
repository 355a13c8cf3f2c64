"""Test helpers: capture what would be sent, with no network.

    from segment_web.testing import capture_events

    with capture_events() as events:
        client.track(user_id="1", event="Signed Up")
    assert events[0]["event"] == "Signed Up"

The pytest plugin (installed with the package) gives the fixture ``segment_events``:
a capture active for the whole test, for every client and adapter in the process.

A captured message has gone the production way up to the client's store: built and
validated the same way, refused (and reported dropped) when the queue is full, and
``message_queued`` sent. Where production would store it, it is recorded instead, in
its wire form. It differs from production only after that point: nothing goes over
HTTP (so no ``batch_sent``), and the message counts as delivered at once, so its
callback has run, on the calling thread, before the call returns.

``default_client_set_to(client)`` (a context manager) sets the module-level default
client (``segment_web.track()`` outside requests) for a block, ``None`` for none, and
puts the earlier one back after.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from segment_web.api import default_client_set_to
from segment_web.core import capture

if TYPE_CHECKING:
    from segment_web.plan import TrackingPlan

__all__ = ["CapturedEvents", "capture_events", "default_client_set_to"]


class CapturedEvents(list[dict[str, Any]]):
    """The messages captured so far, in order; a list with a few helpers."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.clients: list[object] = []

    def _record(self, client: object, message: dict[str, Any]) -> None:
        with self._lock:
            self.append(message)
            self.clients.append(client)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The captured messages of one type (``"track"``, ``"page"``…)."""
        return [message for message in self if message["type"] == kind]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The captured track calls, or only those of event ``name``."""
        return [m for m in self.of_type("track") if name is None or m.get("event") == name]

    def assert_valid(
        self, plan: TrackingPlan | str | os.PathLike[str], *, allow_unplanned_events: bool = False
    ) -> None:
        """Fail, listing every broken rule, unless each captured message follows ``plan``."""
        from segment_web.plan.testing import assert_messages_follow

        assert_messages_follow(list(self), plan, allow_unplanned_events=allow_unplanned_events)


class capture_events:  # lower case: used like a function, as a context manager
    """Record every message any client would send while active, instead of sending it."""

    def __init__(self) -> None:
        self.events = CapturedEvents()
        self._sink = self.events._record

    def __enter__(self) -> CapturedEvents:
        capture.add_sink(self._sink)
        return self.events

    def __exit__(self, *exc_info: object) -> None:
        capture.remove_sink(self._sink)


try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pass
else:

    @pytest.fixture
    def segment_events() -> Iterator[CapturedEvents]:
        """Every message sent during the test, captured instead of delivered."""
        with capture_events() as events:
            yield events
