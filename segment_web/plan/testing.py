"""The tracking-plan assertion behind ``segment_events.assert_valid(plan)``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from segment_web.plan.tracking_plan import TrackingPlan
from segment_web.plan.violation import describe


def assert_messages_follow(
    messages: Sequence[Mapping[str, Any]],
    plan: TrackingPlan | str | os.PathLike[str],
    *,
    allow_unplanned_events: bool = False,
) -> None:
    """``AssertionError`` naming each message (by position and event) that breaks ``plan``."""
    if not isinstance(plan, TrackingPlan):
        plan = TrackingPlan.load(plan)
    failures = []
    for index, message in enumerate(messages):
        violations = plan.check(message, allow_unplanned_events=allow_unplanned_events)
        if violations:
            failures.append(f"message {index}: {describe(violations[0].event, violations)}")
    if failures:
        count = len(failures)
        raise AssertionError(
            f"{count} of {len(messages)} captured message(s) break the tracking plan "
            f"{plan.name!r}:\n" + "\n".join(failures)
        )
