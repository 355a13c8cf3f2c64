"""Plans are untrusted input: checking a call never fetches anything and no value a
visitor sends can make a plan's regular expression stall the call."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from segment_web import Analytics
from segment_web.collector.violations import PlanFlags
from segment_web.errors import PlanViolation
from segment_web.plan import PlanError, TrackingPlan, regexes
from tests.collector.test_cli import Running, run

__all__ = ["run"]  # the command-line fixture, used below

DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_2019 = "https://json-schema.org/draft/2019-09/schema"
# Python's re needs about 2**n steps for ^(a+)+$ against n "a" and a "!"; 40 is hours.
CATASTROPHIC = "^(a+)+$"
HOSTILE = "a" * 40 + "!"


class FetchLog:
    """A local server that records every GET (a plan must never cause one)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                log.paths.append(self.path)
                body = b'{"type": "string"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def fetch_log() -> Iterator[FetchLog]:
    log = FetchLog()
    yield log
    log.close()


@pytest.fixture
def backtracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """As without the plan-re2 extra: Python's re, bounded."""
    monkeypatch.setattr(regexes, "_re2", None)


@pytest.fixture
def with_re2() -> None:
    if not regexes.re2_available():
        pytest.skip("google-re2 is not installed (the plan-re2 extra)")


def remote_plans(url: str, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    schema_file = tmp_path / "remote.json"
    schema_file.write_text('{"type": "string"}')
    plans = []
    for target in (f"{url}/remote.json", schema_file.as_uri()):
        for draft, keyword in (
            (None, "$ref"),
            (DRAFT_2020, "$ref"),
            (DRAFT_2020, "$dynamicRef"),
            (DRAFT_2019, "$recursiveRef"),
        ):
            schema: dict[str, Any] = {"properties": {"x": {keyword: target}}}
            if draft:
                schema["$schema"] = draft
            plans.append((f"{keyword} {target}", {"Paid": schema}))
    return plans


def test_every_reference_keyword_outside_the_plan_is_refused_when_it_loads(
    fetch_log: FetchLog, tmp_path: Path
) -> None:
    for label, data in remote_plans(fetch_log.url, tmp_path):
        keyword, target = label.split(" ")
        with pytest.raises(PlanError) as raised:
            TrackingPlan.from_dict(data)
        assert str(raised.value) == (
            f"tracking plan: 'Paid'.properties.x: {keyword} {target!r} is not in the plan; "
            "only '#...' is"
        ), label
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(data))
        with pytest.raises(PlanError, match="is not in the plan"):
            Analytics("key", host=fetch_log.url, tracking_plan=str(path), enable=False)
        with pytest.raises(PlanError, match="is not in the plan"):
            PlanFlags(path)
    assert fetch_log.paths == []


def test_local_dynamic_references_still_work() -> None:
    plan = TrackingPlan.from_dict(
        {
            "Listed": {
                "$schema": DRAFT_2020,
                "$dynamicAnchor": "node",
                "properties": {"items": {"type": "array", "items": {"$dynamicRef": "#node"}}},
                "required": ["name"],
            }
        }
    )
    good = {"type": "track", "event": "Listed", "properties": {"name": "a", "items": []}}
    assert plan.check(good) == []
    bad = {"type": "track", "event": "Listed", "properties": {"name": "a", "items": [{}]}}
    assert [v.path for v in plan.check(bad)] == ["properties.items.0.name"]


def test_the_collector_command_line_refuses_a_remote_reference(
    run: type[Running], fetch_log: FetchLog, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    remote = {"$schema": DRAFT_2020, "properties": {"x": {"$dynamicRef": fetch_log.url}}}
    plan.write_text(json.dumps({"Paid": remote}))
    collector = run("--port", "0", "--db", str(tmp_path / "db.sqlite3"), "--plan", str(plan))
    code, stderr = collector.finish()
    assert code == 2
    assert stderr.startswith(
        f"error: --plan: plan.json: 'Paid'.properties.x: $dynamicRef {fetch_log.url!r} "
        "is not in the plan"
    ), stderr
    assert fetch_log.paths == []


@pytest.mark.parametrize("name", ["default", "const", "enum", "examples"])
def test_a_property_named_like_a_data_keyword_is_still_checked(name: str) -> None:
    with pytest.raises(PlanError, match=rf"'Paid'.properties.{name}: \$ref 'http://x/s'"):
        TrackingPlan.from_dict({"Paid": {"properties": {name: {"$ref": "http://x/s"}}}})
    with pytest.raises(PlanError, match=rf"'Paid'.definitions.{name}.pattern: "):
        TrackingPlan.from_dict({"Paid": {"definitions": {name: {"pattern": "(a)\\1"}}}})


def test_a_reference_key_inside_data_is_no_reference() -> None:
    plan = TrackingPlan.from_dict({"Paid": {"properties": {"x": {"const": {"$ref": "http://x"}}}}})
    message = {"type": "track", "event": "Paid", "properties": {"x": {"$ref": "http://x"}}}
    assert plan.check(message) == []


def pattern_plan(pattern: str) -> dict[str, Any]:
    return {"Searched": {"properties": {"term": {"type": "string", "pattern": pattern}}}}


def searched(term: str) -> dict[str, Any]:
    return {"type": "track", "event": "Searched", "properties": {"term": term}}


def test_with_re2_a_catastrophic_pattern_takes_no_time_on_the_callers_thread(
    with_re2: None, tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(pattern_plan(CATASTROPHIC)))
    client = Analytics("key", tracking_plan=str(path), plan_mode="raise", enable=False)
    try:
        started = time.perf_counter()
        with pytest.raises(PlanViolation, match="does not match"):
            client.track(user_id="u1", event="Searched", properties={"term": HOSTILE})
        client.track(user_id="u1", event="Searched", properties={"term": "a" * 30_000})
        assert time.perf_counter() - started < 5  # Python's re: hours
    finally:
        client.shutdown(timeout=0)


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {CATASTROPHIC: {"type": "string"}}},
        {"patternProperties": {CATASTROPHIC: {}}, "additionalProperties": False},
        {"propertyNames": {"pattern": CATASTROPHIC}},
    ],
    ids=["patternProperties", "additionalProperties", "propertyNames"],
)
def test_with_re2_hostile_keys_take_no_time_either(with_re2: None, schema: Any) -> None:
    plan = TrackingPlan.from_dict({"Tagged": schema})
    message = {"type": "track", "event": "Tagged", "properties": {HOSTILE: 1, "a" * 30: 2}}
    started = time.perf_counter()
    assert not plan.follows(message)
    assert plan.check(message)
    assert time.perf_counter() - started < 5


def test_with_re2_a_pattern_re2_cannot_run_is_refused_when_the_plan_loads(
    with_re2: None,
) -> None:
    with pytest.raises(PlanError, match=r"'Searched'.properties.term.pattern: RE2 cannot run"):
        TrackingPlan.from_dict(pattern_plan(r"^(a)\1$"))


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (CATASTROPHIC, "itself repeats"),
        ("^(a|aa)*$", "itself repeats or has choices"),
        ("^(a?){30}$", "itself repeats or has choices"),
        (r"^\S+@\S+\.\S+$", "multiply past the bound"),
        ("^.*a.*b.*$", "multiply past the bound"),
        (r"^(a)\1$", "backreference"),
        ("^(?=a).*$", "lookahead"),
        ("^(?<!a)b$", "lookbehind"),
        ("^(?P<x>a)(?P=x)$", "backreference"),
    ],
)
def test_without_re2_a_pattern_that_could_backtrack_for_long_is_refused(
    backtracking: None, pattern: str, reason: str
) -> None:
    with pytest.raises(PlanError) as raised:
        TrackingPlan.from_dict(pattern_plan(pattern))
    assert str(raised.value).startswith(
        f"tracking plan: 'Searched'.properties.term.pattern: {pattern!r} "
    )
    assert reason in str(raised.value)
    with pytest.raises(PlanError, match="patternProperties"):
        TrackingPlan.from_dict({"Tagged": {"patternProperties": {pattern: {}}}})


@pytest.mark.parametrize(
    "pattern",
    [
        "^[a-z]+$",
        r"^[A-Z]{2}-\d{1,10}$",
        "^(foo|bar)?$",
        r"^(\d+|[a-z]+)$",
        r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        r"^\(+\)$",
        "^[)(]+$",
        "(?i)^sku-[0-9]+$",
    ],
)
def test_without_re2_simple_patterns_are_matched_as_usual(backtracking: None, pattern: str) -> None:
    plan = TrackingPlan.from_dict(pattern_plan(pattern))
    assert plan.check(searched("!")) != []


def test_without_re2_a_value_too_long_to_match_safely_is_a_violation(backtracking: None) -> None:
    plan = TrackingPlan.from_dict(pattern_plan("^[a-z]+$"))
    fits = "a" * regexes.MAX_BACKTRACKING_INPUT
    assert plan.follows(searched(fits)) and plan.check(searched(fits)) == []
    # fastjsonschema would match it with Python's re, unbounded, and call it valid
    assert not plan.follows(searched(fits + "a"))
    (violation,) = plan.check(searched(fits + "a"))
    assert violation.path == "properties.term"
    assert "too long to be matched against '^[a-z]+$'" in violation.rule


def test_without_re2_the_worst_accepted_pattern_stays_fast(backtracking: None) -> None:
    # one unbounded repetition, not anchored: quadratic, on at most 1024 characters
    plan = TrackingPlan.from_dict(pattern_plan("a+b"))
    started = time.perf_counter()
    assert plan.check(searched("a" * regexes.MAX_BACKTRACKING_INPUT)) != []
    assert time.perf_counter() - started < 1
