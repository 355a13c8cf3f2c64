"""The value rules for options, shared by ``Analytics(...)`` and the adapters' settings.

Each check returns None for a good value, else what is wrong ("must be ..."), so the
client can raise it and the adapters can report it in their own words.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], "str | None"]


def is_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def is_int(minimum: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an integer" + (f" of at least {minimum}" if minimum is not None else "")
        if minimum is not None and value < minimum:
            return f"must be an integer of at least {minimum}"
        return None

    return check


def is_seconds(*, positive: bool) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and math.isfinite(value) and (value > 0 if positive else value >= 0):
            return None
        return f"must be a {'positive' if positive else 'non-negative'} number of seconds"

    return check


def is_optional(check: Check) -> Check:
    """``check``, with None accepted too."""

    def optional(value: Any) -> str | None:
        return None if value is None else check(value)

    return optional


def is_optional_callable(value: Any) -> str | None:
    return None if value is None or callable(value) else "must be a callable or None"


def is_optional_path(value: Any) -> str | None:
    ok = value is None or (isinstance(value, str | os.PathLike) and os.fspath(value) != "")
    return None if ok else "must be a directory path (str or os.PathLike) or None"


def require(name: str, value: Any, check: Check) -> None:
    """Raise ``ValueError`` naming ``name`` when ``check`` finds ``value`` wrong."""
    problem = check(value)
    if problem:
        raise ValueError(f"{name} {problem}, got {value!r}")
