"""Detect uWSGI workers that run no Python threads, where nothing would be delivered.

uWSGI (before 2.1) does not run Python threads in its workers unless started with
``--enable-threads`` (or ``--threads N``): the delivery thread would never send a batch.
``threads_disabled()`` tells; ``warn_if_threads_disabled()`` logs it once per process,
naming the fix.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("segment_web")

PROBLEM = (
    "uWSGI runs this app without Python threads, so segment_web's delivery thread "
    "cannot send anything"
)
FIX = "Start uWSGI with --enable-threads (or enable-threads = true in its ini file)."
_warned = False


def threads_disabled() -> bool:
    """True inside a uWSGI worker started without thread support."""
    uwsgi = sys.modules.get("uwsgi")  # only importable inside a uWSGI process
    if uwsgi is None:
        return False
    options: dict[Any, Any] = dict(getattr(uwsgi, "opt", {}) or {})
    if _version(uwsgi) >= (2, 1):  # threads are on by default there
        return False
    enabled = _option(options, "enable-threads")
    threads = _option(options, "threads")
    return not (_true(enabled) or (threads is not None and _number(threads) > 0))


def warn_if_threads_disabled() -> None:
    """Log the problem and its fix once per process when ``threads_disabled()``."""
    global _warned
    if not _warned and threads_disabled():
        _warned = True
        logger.warning("segment_web: %s. %s", PROBLEM, FIX)


def _option(options: dict[Any, Any], name: str) -> Any:
    value = options.get(name, options.get(name.encode()))
    if isinstance(value, list):  # an option given twice
        value = value[-1]
    return value


def _true(value: Any) -> bool:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _number(value: Any) -> int:
    try:
        return int(value.decode() if isinstance(value, bytes) else value)
    except (TypeError, ValueError):
        return 0


def _version(uwsgi: Any) -> tuple[int, ...]:
    version = getattr(uwsgi, "version_info", None)
    return tuple(version[:2]) if version else (2, 0)
