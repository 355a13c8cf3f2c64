"""Tracking plans: check events against a Segment tracking plan, and generate typed
functions from it. Needs the ``jsonschema`` package: ``pip install "segment-web[plan]"``.

Validate every call (on the caller's thread, before the message is queued)::

    analytics = Analytics("KEY", tracking_plan="plan.json", plan_mode="raise")
    analytics.track(user_id="u1", event="Order Completed", properties={"revenue": "12"})
    # PlanViolation: 'Order Completed' violates the tracking plan:
    #     properties.revenue: '12' is not of type 'number'

``plan_mode`` is ``"raise"`` (development and tests), ``"report"`` (the default: sent
unchanged, the ``plan_violation`` signal and a rate-limited log line) or ``"drop"`` (not
sent, reported as a drop with reason ``"plan violation"``). A track event the plan does
not list is a violation unless ``allow_unplanned_events=True``.

Check by hand: ``TrackingPlan.load("plan.json").check(message)`` returns the
``Violation``s of one wire-shaped message dict.

Plans are untrusted input: a reference must stay inside the plan, and regular
expressions are matched by RE2 (``pip install "segment-web[plan-re2]"``) or, without it,
only when their backtracking is bounded (``segment_web.plan.regexes`` says how), so
checking a call never fetches anything and no value can stall it.

Generate one typed function per event::

    python -m segment_web.plan generate plan.json -o myapp/analytics_events.py
"""

from __future__ import annotations

from segment_web.plan.modes import PLAN_MODES, PlanMode
from segment_web.plan.schemas import PlanError
from segment_web.plan.tracking_plan import Rule, TrackingPlan
from segment_web.plan.violation import Violation

__all__ = [
    "PLAN_MODES",
    "PlanError",
    "PlanMode",
    "Rule",
    "TrackingPlan",
    "Violation",
]
