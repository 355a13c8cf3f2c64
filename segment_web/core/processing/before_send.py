"""The ``before_send`` step: the user's hooks, run in order, may change or drop a message.

Each hook gets the message as it will go on the wire and returns the message to send
(the same dict changed, or a new one) or ``None`` to drop it. A hook that raises drops
the message: a broken scrubber must not let the data it should remove leave.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segment_web.core.processing.step import Drop
from segment_web.errors import ValidationError

logger = logging.getLogger("segment_web")

Hook = Callable[[dict[str, Any]], "Mapping[str, Any] | None"]
Hooks = Hook | Sequence[Hook] | None


def check_hooks(value: object) -> str | None:
    """None if ``value`` is a valid ``before_send`` option, else what is wrong."""
    if value is None or callable(value):
        return None
    if isinstance(value, list | tuple) and all(callable(hook) for hook in value):
        return None
    return "must be a callable, a list or tuple of callables, or None"


def as_hook_list(value: Hooks) -> tuple[Hook, ...]:
    """The hooks of a ``before_send`` option, in order (none for None)."""
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)


class BeforeSend:
    """Runs the hooks in order; the first that returns None (or raises) drops the message."""

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.hooks = tuple(hooks)

    def __call__(self, message: dict[str, Any]) -> dict[str, Any] | Drop:
        for hook in self.hooks:
            try:
                result = hook(message)
            except Exception:
                logger.exception(
                    "segment_web: before_send hook %s raised; the message is dropped",
                    _name_of(hook),
                )
                return Drop("before_send raised")
            if result is None:
                return Drop("before_send", expected=True)
            if not isinstance(result, Mapping):
                raise ValidationError(
                    "before_send",
                    f"{_name_of(hook)} must return the message or None, "
                    f"got {type(result).__name__}",
                )
            message = result if type(result) is dict else dict(result)
        return message


def _name_of(hook: Hook) -> str:
    return getattr(hook, "__qualname__", None) or repr(hook)
