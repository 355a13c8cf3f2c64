"""The exceptions segment_web raises or reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segment_web.plan.violation import Violation


class ValidationError(ValueError):
    """A call's input is unusable; ``field`` names the offending field path."""

    def __init__(self, field: str, problem: str) -> None:
        # A name or value quoted from the input may hold a lone surrogate, which would make
        # the error itself fail to print or log.
        field, problem = _printable(field), _printable(problem)
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class PlanViolation(ValidationError):
    """A message breaks the tracking plan (``plan_mode="raise"``).

    ``event`` names the event, ``violations`` every broken rule (``path``, ``rule``);
    ``field`` and ``problem`` are those of the first.
    """

    def __init__(self, event: str, violations: Sequence[Violation], description: str) -> None:
        super().__init__(violations[0].path, violations[0].rule)
        self.event = event
        self.violations = tuple(violations)
        self.args = (description,)

    def __str__(self) -> str:
        return str(self.args[0])


class DeliveryError(Exception):
    """A batch could not be delivered; reported to callbacks, never raised by a call."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class GaveUpAtShutdown(DeliveryError):
    """A batch whose retries ``shutdown()`` cut short (its time was up)."""


class LeftInSpool(DeliveryError):
    """A batch in flight when ``shutdown()`` ran out of time, in a client with a
    ``spool_dir``: it stays in the spool and the next process started with the same
    ``spool_dir``, write key and host delivers it. Not a failure: do not send it again."""


class MessageDropped(Exception):
    """A message was dropped before it could be sent; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"message dropped: {reason}")
        self.reason = reason


class ClientClosedError(RuntimeError):
    """The client was shut down and takes no more calls."""


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
