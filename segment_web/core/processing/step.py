"""What a processing step is: a function of the wire-form message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Drop(NamedTuple):
    """A step's verdict that the message must not be sent.

    ``reason`` is what the drop is reported with (``message_dropped``, the callback's
    ``MessageDropped``); ``expected`` drops are a step doing its job, not a problem,
    so they are not logged as warnings.
    """

    reason: str
    expected: bool = False


# A step gets the message as it will go on the wire (a dict of JSON values with the
# spec's camelCase keys, its own copy) and returns it, a changed or new one, or a Drop.
# A step that never changes the message sets ``read_only = True`` on itself: when every
# step does, they get the built message itself (its values not yet made JSON: datetimes,
# Decimals…) and the message is encoded only once.
Step = Callable[[dict[str, Any]], "dict[str, Any] | Drop"]
