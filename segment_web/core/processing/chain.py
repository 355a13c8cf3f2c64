"""The chain: build and validate → steps → encode; one instance per client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segment_web.core.message import MessageType, build_message, encode_message, message_from_wire
from segment_web.core.processing.before_send import BeforeSend, Hooks, as_hook_list
from segment_web.core.processing.step import Drop, Step
from segment_web.errors import ValidationError
from segment_web.wire.json_backend import loads
from segment_web.wire.serialize import encode

# A message ready to store: the dict as sent, its JSON, and None; or, for a dropped
# message, the message as built before the step that dropped it, its JSON and the Drop,
# so the drop can be reported with them. (A plain tuple: this is made on every call.)
Processed = tuple[dict[str, Any], bytes, "Drop | None"]


def build_steps(*, before_send: Hooks = None, plan_check: Step | None = None) -> tuple[Step, ...]:
    """The configured steps, in the order they run.

    ``before_send`` first, so the user's hooks see the message as the caller made it;
    the tracking-plan check after it, so what it judges is what would be sent.
    """
    steps: list[Step] = []
    hooks = as_hook_list(before_send)
    if hooks:
        steps.append(BeforeSend(hooks))
    if plan_check is not None:
        steps.append(plan_check)
    return tuple(steps)


class MessageChain:
    def __init__(self, steps: Sequence[Step] = ()) -> None:
        self.steps = tuple(steps)
        # Steps that only judge a message (``read_only = True``) can see the built dict:
        # without a step that may change it, the message is encoded once, not decoded
        # and encoded again.
        self._judges_only = all(getattr(step, "read_only", False) for step in self.steps)

    def run(self, kind: MessageType, fields: Mapping[str, Any]) -> Processed:
        """Build, validate, process and encode one message; ``ValidationError`` if unusable.

        Without steps this is build then encode: nothing is spent on steps not configured.
        """
        message = build_message(kind, fields)
        payload = encode_message(message)
        if not self.steps:
            return message, payload, None
        if self._judges_only:
            for step in self.steps:
                verdict = step(message)
                if isinstance(verdict, Drop):
                    return message, payload, verdict
            return message, payload, None
        # The steps work on a fresh copy decoded from the JSON: values exactly as they go
        # on the wire, and nothing a step changes can reach the caller's own dicts.
        wire: dict[str, Any] = loads(payload)
        for step in self.steps:
            result = step(wire)
            if isinstance(result, Drop):
                return message, payload, result
            wire = result
        # Most hooks change most messages not at all: the same bytes again mean the same
        # message, already built and validated, so only a changed one is built anew.
        try:
            unchanged = encode(wire) == payload
        except ValidationError:
            unchanged = False
        if unchanged:
            return message, payload, None
        processed = message_from_wire(wire)
        return processed, encode_message(processed), None
