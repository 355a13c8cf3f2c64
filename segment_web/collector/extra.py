"""The collector serves with uvicorn and Starlette, installed by the ``collector`` extra."""

from __future__ import annotations

import importlib.util

INSTALL_HINT = "pip install 'segment-web[collector]'"


def missing_extra() -> str | None:
    """What to install when uvicorn or Starlette is missing; None when both are there."""
    missing = [name for name in ("uvicorn", "starlette") if not _installed(name)]
    if not missing:
        return None
    return f"the collector needs {' and '.join(missing)}, which its extra installs: {INSTALL_HINT}"


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
