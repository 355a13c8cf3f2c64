"""What a client does with a message that breaks its tracking plan (``plan_mode``)."""

from __future__ import annotations

from typing import Literal, get_args

PlanMode = Literal["raise", "report", "drop"]
PLAN_MODES: tuple[str, ...] = get_args(PlanMode)
