"""Loading plans: Segment's tracking-plan JSON, the plain event map, and malformed plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segment_web.plan import PlanError, TrackingPlan
from tests.plan.conftest import SHOP_PLAN


def test_segment_form(shop_plan: TrackingPlan) -> None:
    assert shop_plan.name == "Acme Shop"
    assert shop_plan.version == "3"
    assert list(shop_plan.events) == ["Order Completed", "Product Viewed", "Signed Out"]
    order = shop_plan.events["Order Completed"]
    assert order.version == 2
    assert order.description.startswith("A customer paid for an order")
    assert order.fields_schema("properties")["required"] == ["order_id", "revenue", "currency"]
    assert shop_plan.identify is not None
    assert shop_plan.identify.fields_schema("traits")["required"] == ["email"]
    assert shop_plan.group is None


def test_plain_event_map(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(
        json.dumps(
            {
                "Signed Up": {
                    "description": "A new account.",
                    "type": "object",
                    "properties": {"plan": {"enum": ["free", "pro"]}},
                    "required": ["plan"],
                }
            }
        )
    )
    plan = TrackingPlan.load(path)
    assert plan.name == "events"
    assert plan.events["Signed Up"].description == "A new account."
    message = {"type": "track", "event": "Signed Up", "properties": {"plan": "gold"}}
    [violation] = plan.check(message)
    assert (violation.event, violation.path) == ("Signed Up", "properties.plan")
    assert violation.rule == "'gold' is not one of ['free', 'pro']"
    assert plan.check({"type": "track", "event": "Signed Up", "properties": {"plan": "pro"}}) == []


def test_the_same_plan_has_the_same_digest_however_it_is_formatted(tmp_path: Path) -> None:
    data = json.loads(SHOP_PLAN.read_text())
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(data, separators=(",", ":")))
    assert TrackingPlan.load(compact).digest == TrackingPlan.load(SHOP_PLAN).digest
    data["rules"]["events"][0]["version"] = 3
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    assert TrackingPlan.load(changed).digest != TrackingPlan.load(SHOP_PLAN).digest


def _event(name: str, properties: object) -> dict[str, object]:
    return {
        "name": name,
        "rules": {"type": "object", "properties": {"properties": properties}},
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"rules": {"events": [_event("Paid", {"properties": {"revenue": {"type": "numbr"}}})]}},
            "plan.json: rules.events[0] 'Paid' rules.properties.properties.properties.revenue"
            ".type: 'numbr' is not valid under any of the given schemas",
        ),
        (
            {"rules": {"events": [_event("Paid", {"required": "revenue"})]}},
            "rules.events[0] 'Paid' rules.properties.properties.required: 'revenue' is not "
            "of type 'array'",
        ),
        ({"rules": {"events": {"Paid": {}}}}, "plan.json: rules.events must be a list"),
        ({"rules": {"events": [{"rules": {}}]}}, "rules.events[0]: name must be a non-empty"),
        (
            {"rules": {"events": [_event("Paid", {}), _event("Paid", {})]}},
            "rules.events[1] 'Paid': the event is listed twice",
        ),
        (
            {"rules": {"events": [{"name": "Paid", "rules": {}, "version": "two"}]}},
            "rules.events[0] 'Paid': version must be an integer, got 'two'",
        ),
        (
            {"rules": {"events": [], "identify": {"properties": {"traits": {"type": 3}}}}},
            "plan.json: rules.identify.properties.traits.type: 3 is not valid",
        ),
        ({"Paid": ["not", "a", "schema"]}, "plan.json: 'Paid': must be a JSON Schema object"),
        (["Paid"], "plan.json: must be a JSON object, got list"),
    ],
)
def test_a_malformed_plan_is_an_error_naming_the_rule(
    tmp_path: Path, data: object, expected: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanError) as raised:
        TrackingPlan.load(path)
    assert expected in str(raised.value)


def test_unreadable_or_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"missing\.json: cannot be read"):
        TrackingPlan.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"rules": ')
    with pytest.raises(PlanError, match=r"broken\.json: not valid JSON"):
        TrackingPlan.load(broken)


def test_a_reference_outside_the_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"Paid": {"properties": {"x": {"$ref": "http://127.0.0.1:9/s"}}}}))
    with pytest.raises(
        PlanError, match=r"'Paid'.properties.x: \$ref 'http://127.0.0.1:9/s' is not in the plan"
    ):
        TrackingPlan.load(path)


def test_newer_drafts_are_checked_too() -> None:
    plan = TrackingPlan.from_dict(
        {
            "Paid": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "properties": {"pair": {"prefixItems": [{"type": "string"}, {"type": "number"}]}},
            }
        }
    )
    ok = {"type": "track", "event": "Paid", "properties": {"pair": ["a", 1]}}
    assert plan.check(ok) == []
    bad = {"type": "track", "event": "Paid", "properties": {"pair": ["a", "b"]}}
    assert [str(v) for v in plan.check(bad)] == ["properties.pair.1: 'b' is not of type 'number'"]


def test_without_the_extra_the_error_says_what_to_install() -> None:
    # As a user without `segment-web[plan]` would run it: jsonschema not importable.
    script = (
        "import sys; sys.modules['jsonschema'] = None\n"
        "from segment_web import Analytics\n"
        "Analytics('key', enable=False)  # no plan: jsonschema is not needed\n"
        f"Analytics('key', enable=False, tracking_plan={str(SHOP_PLAN)!r})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: tracking plans need the jsonschema package: pip install 'segment-web[plan]'"
    )
