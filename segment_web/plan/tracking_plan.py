"""``TrackingPlan``: a Segment tracking plan, loaded once, its rules compiled once.

Two forms are read:

- Segment's tracking-plan JSON (Protocols and Typewriter)::

      {"display_name": "Shop", "rules": {
          "events": [{"name": "Order Completed", "description": "...", "version": 1,
                      "rules": <JSON Schema of the whole message>}],
          "identify": <JSON Schema of the whole message>,
          "group": <JSON Schema of the whole message>,
          "global": <JSON Schema every message must match>}}

  where the event's properties are under ``properties.properties`` of its schema and
  identify/group traits under ``properties.traits``.
- A plain mapping of event name to the JSON Schema of its ``properties``, for teams
  without Protocols: ``{"Order Completed": {"type": "object", "properties": {...}}}``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segment_web.plan.schemas import PlanError, compile_schema, quick_check, violations_of
from segment_web.plan.violation import Violation

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# The message field each kind of call keeps its plan-checked data in.
FIELDS_OF = {"track": "properties", "identify": "traits", "group": "traits"}


@dataclass(frozen=True)
class Rule:
    """The plan's rule for one event (or for identify/group calls).

    ``scope`` is ``""`` when ``schema`` describes the whole message (Segment's form), or
    the field it describes (``"properties"``, for the plain mapping form).
    """

    name: str
    schema: Mapping[str, Any]
    scope: str
    validator: Validator = field(repr=False, compare=False)
    is_valid: Callable[[Any], bool] = field(repr=False, compare=False)
    description: str = ""
    version: int | None = None

    def fields_schema(self, field_name: str) -> Mapping[str, Any]:
        """The JSON Schema of ``properties`` (or ``traits``); ``{}`` when the plan has none."""
        if self.scope == field_name:
            return self.schema
        if self.scope:
            return {}
        properties = self.schema.get("properties")
        found = properties.get(field_name) if isinstance(properties, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    def check(self, message: Mapping[str, Any], label: str) -> list[Violation]:
        """The violations of ``message``, reported under ``label`` (the event's name)."""
        instance = self.instance(message)
        if self.is_valid(instance):
            return []
        return violations_of(self.validator, instance, label, self.scope)

    def instance(self, message: Mapping[str, Any]) -> Any:
        """What this rule's schema describes: the whole message, or one field of it."""
        if self.scope:
            return message.get(self.scope) or {}
        field_name = FIELDS_OF.get(str(message.get("type")), "properties")
        if field_name in message:
            return message
        # An absent properties object is checked as an empty one, so a missing required
        # property is named rather than the whole object.
        return {**message, field_name: {}}


class TrackingPlan:
    """A loaded tracking plan: ``events`` by name, optional ``identify``/``group``/``global_``
    rules, and ``check(message)``. Build it with ``TrackingPlan.load(path)``."""

    def __init__(
        self,
        *,
        name: str,
        events: Mapping[str, Rule],
        identify: Rule | None = None,
        group: Rule | None = None,
        global_: Rule | None = None,
        version: str | None = None,
        digest: str = "",
    ) -> None:
        self.name = name
        self.events = dict(events)
        self.identify = identify
        self.group = group
        self.global_ = global_
        self.version = version
        self.digest = digest

    def __repr__(self) -> str:
        return f"<TrackingPlan {self.name!r} events={len(self.events)}>"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrackingPlan:
        """Read a plan from a JSON file; ``PlanError`` names the file and the bad rule."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except OSError as error:
            raise PlanError(f"tracking plan {source}: cannot be read: {error}") from None
        except ValueError as error:
            raise PlanError(f"tracking plan {source}: not valid JSON: {error}") from None
        return cls.from_dict(data, source=source.name)

    @classmethod
    def from_dict(cls, data: object, *, source: str = "tracking plan") -> TrackingPlan:
        """Build a plan from already-parsed JSON (either form, see the module docstring)."""
        if not isinstance(data, Mapping):
            raise PlanError(f"{source}: must be a JSON object, got {type(data).__name__}")
        digest = hashlib.sha256(
            json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ).hexdigest()[:12]
        if _is_segment_form(data):
            return _from_segment_form(data, source, digest)
        return _from_plain_form(data, source, digest)

    def check(
        self, message: Mapping[str, Any], *, allow_unplanned_events: bool = False
    ) -> list[Violation]:
        """The plan's rules that ``message`` (wire-shaped: ``type``, ``event``,
        ``properties``, ``traits``…) breaks; empty when it follows the plan.

        A track event the plan does not list is a violation unless
        ``allow_unplanned_events``. Calls other than track/identify/group, and
        identify/group when the plan has no rules for them, meet only ``global`` rules.
        """
        label, rules, planned = self._rules_for(message)
        found: list[Violation] = []
        if not planned and not allow_unplanned_events:
            found.append(Violation(label, "event", self._unplanned(label)))
        for rule in rules:
            found.extend(rule.check(message, label))
        return found

    def follows(self, message: Mapping[str, Any], *, allow_unplanned_events: bool = False) -> bool:
        """A quick True when ``message`` certainly follows the plan, as it is given (the
        compiled check only); False when ``check`` must say why, or that it does."""
        _, rules, planned = self._rules_for(message)
        if not planned and not allow_unplanned_events:
            return False
        return all(rule.is_valid(rule.instance(message)) for rule in rules)

    def _rules_for(self, message: Mapping[str, Any]) -> tuple[str, list[Rule], bool]:
        """The message's label (event name or call type), the rules it must meet, and
        False for a track event the plan does not list."""
        kind = message.get("type")
        label = str(kind)
        rules: list[Rule] = []
        planned = True
        if kind == "track":
            label = str(message.get("event"))
            rule = self.events.get(label)
            planned = rule is not None
            rules += [rule] if rule is not None else []
        elif kind == "identify" and self.identify is not None:
            rules.append(self.identify)
        elif kind == "group" and self.group is not None:
            rules.append(self.group)
        if self.global_ is not None:
            rules.append(self.global_)
        return label, rules, planned

    def _unplanned(self, event: str) -> str:
        text = f"{event!r} is not an event of the tracking plan {self.name!r}"
        close = difflib.get_close_matches(event, self.events, n=1)
        return f"{text}; did you mean {close[0]!r}?" if close else text


def _is_segment_form(data: Mapping[str, Any]) -> bool:
    rules = data.get("rules")
    return isinstance(rules, Mapping) and "events" in rules


def _from_segment_form(data: Mapping[str, Any], source: str, digest: str) -> TrackingPlan:
    rules = data["rules"]
    events_data = rules["events"]
    if not isinstance(events_data, list):
        raise PlanError(f"{source}: rules.events must be a list of event rules")
    events: dict[str, Rule] = {}
    for index, entry in enumerate(events_data):
        where = f"{source}: rules.events[{index}]"
        if not isinstance(entry, Mapping):
            raise PlanError(f"{where}: must be an object with name and rules")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise PlanError(f"{where}: name must be a non-empty string, got {name!r}")
        where = f"{where} {name!r}"
        if name in events:
            raise PlanError(f"{where}: the event is listed twice")
        version = entry.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise PlanError(f"{where}: version must be an integer, got {version!r}")
        events[name] = _rule(name, entry.get("rules", {}), "", f"{where} rules", entry, version)
    special = {
        key: _rule(key, rules[key], "", f"{source}: rules.{key}", rules[key])
        for key in ("identify", "group", "global")
        if rules.get(key) is not None
    }
    version = data.get("version", data.get("update_time"))
    return TrackingPlan(
        name=str(data.get("display_name") or data.get("name") or Path(source).stem),
        events=events,
        identify=special.get("identify"),
        group=special.get("group"),
        global_=special.get("global"),
        version=None if version is None else str(version),
        digest=digest,
    )


def _from_plain_form(data: Mapping[str, Any], source: str, digest: str) -> TrackingPlan:
    events: dict[str, Rule] = {}
    for name, schema in data.items():
        if not isinstance(name, str) or not name:
            raise PlanError(f"{source}: event names must be non-empty strings, got {name!r}")
        events[name] = _rule(name, schema, "properties", f"{source}: {name!r}", schema)
    return TrackingPlan(name=Path(source).stem, events=events, digest=digest)


def _rule(
    name: str,
    schema: object,
    scope: str,
    where: str,
    described_by: object,
    version: int | None = None,
) -> Rule:
    validator = compile_schema(schema, where)
    assert isinstance(schema, Mapping)  # compile_schema refused anything else
    description = described_by.get("description") if isinstance(described_by, Mapping) else None
    if not isinstance(description, str):
        description = ""
    return Rule(
        name, schema, scope, validator, quick_check(schema, validator), description, version
    )
