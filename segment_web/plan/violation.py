"""One broken rule of a tracking plan: which event, where in the message, what rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """``event`` is the track event's name (or ``"identify"``/``"group"``), ``path`` the
    dotted place in the message (``properties.revenue``), ``rule`` what it breaks."""

    event: str
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


def describe(event: str, violations: tuple[Violation, ...] | list[Violation]) -> str:
    """One line naming the event and every broken rule, for errors and logs."""
    return f"{event!r} violates the tracking plan: " + "; ".join(map(str, violations))
