"""The collector serves with uvicorn and Starlette, installed by the ``collector`` extra."""

from __future__ import annotations

import importlib.util

from segment_web.collector.hints import install_command


def missing_extra() -> str | None:
    """What to install when uvicorn or Starlette is missing; None when both are there.

    The command installs into the running interpreter's environment, from the clone
    when running from one: ``.venv/bin/python -m pip install -e '.[collector]'``.
    """
    missing = [name for name in ("uvicorn", "starlette") if not _installed(name)]
    if not missing:
        return None
    return (
        f"the collector needs {' and '.join(missing)}, which its extra installs: "
        + install_command("collector")
    )


def require_collector_extra() -> None:
    """Raise ``ImportError`` naming the extra to install when a package is missing."""
    message = missing_extra()
    if message is not None:
        raise ImportError(message)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken install, or None in sys.modules
        return False
