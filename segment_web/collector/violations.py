"""``--plan``: each received message judged against a tracking plan, for the store.

Needs the ``plan`` extra; imported only when the collector is given a plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from segment_web.plan import TrackingPlan


class PlanFlags:
    """Judges messages as they arrive: ``flags(message)`` lists its violations as
    ``{"path": …, "rule": …}`` (empty when it follows the plan)."""

    def __init__(
        self, plan: TrackingPlan | str | os.PathLike[str], *, allow_unplanned_events: bool = False
    ) -> None:
        self.plan = plan if isinstance(plan, TrackingPlan) else TrackingPlan.load(plan)
        self.allow_unplanned_events = allow_unplanned_events

    def flags(self, message: Mapping[str, Any]) -> list[dict[str, str]]:
        try:
            found = self.plan.check(message, allow_unplanned_events=self.allow_unplanned_events)
        except Exception as error:  # stored and shown, rather than refusing the message
            return [{"path": "message", "rule": f"the plan could not judge it: {error}"}]
        return [{"path": violation.path, "rule": violation.rule} for violation in found]

    def describe(self) -> dict[str, Any]:
        """The plan as ``GET /api/events`` names it."""
        return {"name": self.plan.name, "version": self.plan.version, "digest": self.plan.digest}
