"""Which thread touched which files: a ``sys.addaudithook`` recorder, for tests that
promise file work stays off a thread (the event loop's)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The audit events of creating and opening files and directories; args[0] is the path.
_EVENTS = frozenset({"open", "os.mkdir", "os.rename", "os.remove", "os.listdir", "os.scandir"})
_active: list[tuple[str, list[tuple[str, str, int]]]] = []  # (folder, what it saw)
_installed = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _active or event not in _EVENTS or not args:
        return
    path = args[0]
    if not isinstance(path, str | bytes | os.PathLike):
        return
    text = os.fsdecode(path)
    for folder, seen in _active:
        if text.startswith(folder):
            seen.append((event, text, threading.get_ident()))


@contextmanager
def file_work_in(folder: str | os.PathLike[str]) -> Iterator[list[tuple[str, str, int]]]:
    """Within the block, each file operation on a path under ``folder``, as (audit
    event, path, thread ident), appended to the list it yields. An audit hook cannot be
    removed: the one installed stays, and does nothing outside such a block."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    entry = (os.fspath(folder), [])
    _active.append(entry)
    try:
        yield entry[1]
    finally:
        _active.remove(entry)
