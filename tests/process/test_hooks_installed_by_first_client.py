"""Importing segment_web (and loading its pytest plugin) touches nothing of the process;
the first client installs the process hooks, once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Records every registration of a process-wide hook with a function of segment_web's,
# by wrapping the public registration functions themselves (other libraries imported on
# the way, Django or Celery, may register their own).
RECORDER = """
import atexit, json, os, signal, sys
from multiprocessing import util
calls = []
def recording(name, register):
    def wrapper(*args, **kwargs):
        hooks = [a for a in (*args, *kwargs.values()) if callable(a)]
        if any((getattr(h, "__module__", None) or "").startswith("segment_web") for h in hooks):
            calls.append(name)
        return register(*args, **kwargs)
    return wrapper
atexit.register = recording("atexit", atexit.register)
os.register_at_fork = recording("at-fork", os.register_at_fork)
signal.signal = recording("signal", signal.signal)
util.register_after_fork = recording("multiprocessing", util.register_after_fork)
"""


def hooks_registered(body: str) -> dict[str, list[str]]:
    script = RECORDER + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_every_public_module_registers_no_hook() -> None:
    seen = hooks_registered(
        """
        import segment_web, segment_web.signals, segment_web.testing
        import segment_web.django, segment_web.flask, segment_web.asgi, segment_web.plan
        import segment_web.jobs.celery, segment_web.jobs.rq
        print(json.dumps({"imports": calls}))
        """
    )
    assert seen == {"imports": []}


def test_the_pytest_plugin_registers_no_hook(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    seen = hooks_registered(
        f"""
        import pytest
        code = pytest.main(["-q", "-p", "no:cacheprovider", {str(tmp_path)!r}])
        assert code == 0 and "segment_web.testing" in sys.modules
        print(json.dumps({{"plugin": calls}}))
        """
    )
    assert seen == {"plugin": []}


def test_the_first_client_installs_each_hook_once() -> None:
    seen = hooks_registered(
        """
        from segment_web import Analytics
        first = Analytics("k", host="http://127.0.0.1:9")
        after_first = list(calls)
        second = Analytics("k2", host="http://127.0.0.1:9")
        print(json.dumps({"first": sorted(after_first), "second": calls[len(after_first):]}))
        """
    )
    assert seen == {"first": ["at-fork", "atexit", "multiprocessing", "signal"], "second": []}
