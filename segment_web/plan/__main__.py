"""``python -m segment_web.plan generate plan.json -o module.py``: typed event functions.

``python -m segment_web.plan check plan.json`` loads a plan and says what it holds,
or which rule is malformed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segment_web.plan.generate import generate_module
from segment_web.plan.schemas import PlanError
from segment_web.plan.tracking_plan import TrackingPlan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segment_web.plan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write a module of typed event functions")
    generate.add_argument("plan", type=Path, help="the tracking plan (JSON)")
    generate.add_argument("-o", "--output", type=Path, help="the module to write (default: stdout)")
    check = commands.add_parser("check", help="load a plan and list its events")
    check.add_argument("plan", type=Path, help="the tracking plan (JSON)")
    options = parser.parse_args(argv)
    try:
        plan = TrackingPlan.load(options.plan)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.command == "check":
        print(f"{plan.name}: {len(plan.events)} event(s)")
        for name in plan.events:
            print(f"  {name}")
        return 0
    source = generate_module(plan, options.plan.name)
    if options.output is None:
        sys.stdout.write(source)
    else:
        options.output.write_text(source, encoding="utf-8")
        print(f"wrote {options.output} ({len(plan.events)} event function(s))", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
