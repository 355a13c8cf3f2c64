"""Generating the test plans' modules into a folder and importing them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from segment_web.plan import TrackingPlan
from segment_web.plan.generate import generate_module

HERE = Path(__file__).parent
PLANS = {
    "shop_events": HERE / "shop_plan.json",
    "odd_events": HERE / "odd_plan.json",
    # control characters everywhere, names that would hide the module's imports and the
    # builtins its code uses, names and strings too long for a line
    "hostile_events": HERE / "hostile_plan.json",
}


def write_modules(folder: Path) -> dict[str, Path]:
    """Each test plan's generated module, written into ``folder``."""
    written = {}
    for module_name, plan_path in PLANS.items():
        target = folder / f"{module_name}.py"
        target.write_text(generate_module(TrackingPlan.load(plan_path), plan_path.name))
        written[module_name] = target
    return written


def import_module(path: Path) -> ModuleType:
    """Import a generated file under a name of its own (so tests can import it twice)."""
    name = f"generated_{path.stem}_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
