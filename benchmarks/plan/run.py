"""What a tracking plan adds to a ``track()`` call, on the caller's thread.

``python -m benchmarks.plan.run [--calls N] [--out PATH]``

The core benchmark's event (10 properties, a list, a nested object, a datetime) against a plan
that describes it, through a client with ``enable=False`` (built, checked and encoded as
usual, nothing sent, so only the caller's thread is measured). Three clients in
interleaved blocks so all see the same machine state: no plan; the plan (each rule
compiled by fastjsonschema, jsonschema only for a message found invalid); the plan with
the datetime given as an ISO string (a datetime makes the check judge the message's
JSON form, one encode and decode more); and the plan judged by jsonschema alone, the
cost the compiled check avoids.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from pathlib import Path

from benchmarks.core.scenarios import EVENT, event_properties
from segment_web import Analytics
from segment_web.plan import TrackingPlan

_STRING = {"type": "string"}
PLAN = {
    EVENT: {
        "type": "object",
        "properties": {
            "order_id": _STRING,
            "revenue": {"type": "number"},
            "currency": {"enum": ["EUR", "USD"]},
            "quantity": {"type": "integer", "minimum": 1},
            "coupon": {"type": ["string", "null"]},
            "first_purchase": {"type": "boolean"},
            "categories": {"type": "array", "items": _STRING},
            "product": {
                "type": "object",
                "properties": {
                    "sku": _STRING,
                    "name": _STRING,
                    "brand": _STRING,
                    "variant": {
                        "type": "object",
                        "properties": {"size": _STRING, "color": _STRING},
                    },
                },
                "required": ["sku"],
            },
            "placed_at": {"type": "string", "format": "date-time"},
            "shipping": {"type": "number"},
        },
        "required": ["order_id", "revenue", "currency"],
    }
}


def _jsonschema_only(plan: TrackingPlan) -> TrackingPlan:
    for rule in plan.events.values():
        object.__setattr__(rule, "is_valid", rule.validator.is_valid)
    return plan


def measure(calls: int, blocks: int) -> dict[str, list[float]]:
    with_plan = Analytics("bench", enable=False, tracking_plan=TrackingPlan.from_dict(PLAN))
    clients = {
        "no plan": Analytics("bench", enable=False),
        "plan": with_plan,
        "plan, JSON values only": with_plan,
        "plan, jsonschema only": Analytics(
            "bench", enable=False, tracking_plan=_jsonschema_only(TrackingPlan.from_dict(PLAN))
        ),
    }
    properties = event_properties()
    json_only = {**properties, "placed_at": properties["placed_at"].isoformat()}
    timings: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(blocks):
        for name, client in clients.items():
            for _ in range(calls // blocks):
                start = time.perf_counter_ns()
                given = json_only if name == "plan, JSON values only" else properties
                client.track(user_id="user_1", event=EVENT, properties=given)
                timings[name].append((time.perf_counter_ns() - start) / 1000)
    for client in set(clients.values()):
        client.shutdown()
    return timings


def render(timings: dict[str, list[float]], calls: int) -> str:
    base = statistics.median(timings["no plan"])
    lines = [
        "## Tracking plan check: what it adds to track()",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{calls:,} calls per client, interleaved blocks; client enable=False",
        "",
        "| client | per call p50 µs | p99 µs | added at p50 µs |",
        "|---|---:|---:|---:|",
    ]
    for name, values in timings.items():
        ordered = sorted(values)
        p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99)]
        lines.append(f"| {name} | {p50:.1f} | {p99:.1f} | {p50 - base:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "results/plan.md")
    options = parser.parse_args()
    report = render(measure(options.calls, blocks=20), options.calls)
    options.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
