"""The exceptions segment_web raises or reports."""

from __future__ import annotations


class ValidationError(ValueError):
    """A call's input is unusable; ``field`` names the offending field path."""

    def __init__(self, field: str, problem: str) -> None:
        # A name or value quoted from the input may hold a lone surrogate, which would make
        # the error itself fail to print or log.
        field, problem = _printable(field), _printable(problem)
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class DeliveryError(Exception):
    """A batch could not be delivered; reported to callbacks, never raised by a call."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class MessageDropped(Exception):
    """A message was dropped before it could be sent; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"message dropped: {reason}")
        self.reason = reason


class ClientClosedError(RuntimeError):
    """The client was shut down and takes no more calls."""


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
