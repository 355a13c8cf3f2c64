"""The call-time tracking-plan check: one step of building a message.

``PlanCheck(message)`` takes the wire-shaped message dict (``type``, ``event``,
``properties``, ``traits``…) on the caller's thread and, by ``plan_mode``:

- ``"raise"``: raises ``PlanViolation`` (a ``ValidationError``) naming every broken rule;
- ``"report"``: returns the message unchanged, after sending the ``plan_violation``
  signal and logging (rate-limited) on the ``segment_web`` logger;
- ``"drop"``: reports the same way and returns ``Drop("plan violation")``: the caller
  reports it like any dropped message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from segment_web import signals
from segment_web.core.processing.step import Drop
from segment_web.errors import PlanViolation
from segment_web.plan.modes import PLAN_MODES, PlanMode
from segment_web.plan.tracking_plan import TrackingPlan
from segment_web.plan.violation import Violation, describe
from segment_web.wire.json_backend import loads
from segment_web.wire.serialize import encode

logger = logging.getLogger("segment_web")

DROP_REASON = "plan violation"
LOG_INTERVAL = 10.0  # seconds between log lines about one event's violations
_MAX_LOGGED_EVENTS = 1000  # bound on the per-event log state (unplanned names are open-ended)


class PlanCheck:
    """Checks each message against ``plan``; see the module docstring for the modes.

    A processing step (``segment_web.core.processing``) that never changes the message.
    """

    read_only = True

    def __init__(
        self,
        plan: TrackingPlan,
        *,
        mode: PlanMode = "report",
        allow_unplanned_events: bool = False,
        sender: object = None,
    ) -> None:
        self.plan = plan
        self.mode = mode
        self.allow_unplanned_events = allow_unplanned_events
        self.sender = sender
        self._log = _RateLimitedLog()

    @classmethod
    def from_options(
        cls,
        sender: object,
        tracking_plan: TrackingPlan | str | os.PathLike[str] | None,
        plan_mode: str,
        allow_unplanned_events: bool,
    ) -> PlanCheck | None:
        """The check the client options describe (None without a plan); ``ValueError``
        naming the option for a bad value, ``PlanError`` for a bad plan file."""
        if plan_mode not in PLAN_MODES:
            choices = ", ".join(repr(mode) for mode in PLAN_MODES)
            raise ValueError(f"plan_mode must be one of {choices}, got {plan_mode!r}")
        if not isinstance(allow_unplanned_events, bool):
            raise ValueError(
                f"allow_unplanned_events must be True or False, got {allow_unplanned_events!r}"
            )
        if tracking_plan is None:
            return None
        if isinstance(tracking_plan, str | os.PathLike):
            tracking_plan = TrackingPlan.load(tracking_plan)
        if not isinstance(tracking_plan, TrackingPlan):
            raise ValueError(
                "tracking_plan must be a TrackingPlan or the path of a plan file, "
                f"got {tracking_plan!r}"
            )
        mode: PlanMode = plan_mode  # type: ignore[assignment]  # checked against PLAN_MODES
        return cls(
            tracking_plan, mode=mode, allow_unplanned_events=allow_unplanned_events, sender=sender
        )

    def __call__(self, message: dict[str, Any]) -> dict[str, Any] | Drop:
        violations = self.violations(message)
        if not violations:
            return message
        event = violations[0].event
        if self.mode == "raise":
            raise PlanViolation(event, violations, describe(event, violations))
        self._report(message, event, violations)
        return Drop(DROP_REASON) if self.mode == "drop" else message

    def violations(self, message: Mapping[str, Any]) -> list[Violation]:
        """The plan's rules ``message`` breaks, judged on the JSON that would be sent."""
        allow = self.allow_unplanned_events
        try:
            # The caller's values may be datetimes, tuples, Decimals… that become
            # strings, arrays and numbers on the wire: what is sent is what is judged, by
            # the compiled rules (the full report only for a real violation). Decoding
            # the JSON costs less than judging the caller's values first and failing.
            wire = loads(encode(message))
            if self.plan.follows(wire, allow_unplanned_events=allow):
                return []
            return self.plan.check(wire, allow_unplanned_events=allow)
        except Exception:
            # The check must never break a call; a message it cannot judge goes out.
            logger.exception("segment_web: the tracking-plan check failed on a message")
            return []

    def _report(self, message: Mapping[str, Any], event: str, violations: list[Violation]) -> None:
        if signals.plan_violation.receivers:
            try:
                signals.plan_violation.send(
                    self.sender, message=message, event=event, violations=violations
                )
            except Exception:
                logger.exception("segment_web: a receiver of the plan_violation signal raised")
        self._log.warn(event, violations)


class _RateLimitedLog:
    """At most one log line per event per ``LOG_INTERVAL``, counting the ones held back.

    No lock: two threads racing may log one line more or count one less, which is
    harmless, and a lock held by another thread at ``fork()`` would hang the child.
    """

    def __init__(self) -> None:
        self._events: dict[str, tuple[float, int]] = {}  # event -> (last logged, held back)

    def warn(self, event: str, violations: list[Violation]) -> None:
        now = time.monotonic()
        last, held = self._events.get(event, (0.0, 0))
        if last and now - last < LOG_INTERVAL:
            self._events[event] = (last, held + 1)
            return
        if len(self._events) >= _MAX_LOGGED_EVENTS:
            self._events.clear()
        self._events[event] = (now, 0)
        more = f" ({held} more since the last report)" if held else ""
        logger.warning("segment_web: %s%s", describe(event, violations), more)
