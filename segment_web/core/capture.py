"""Where ``segment_web.testing`` plugs in: while a sink is registered, every client's
pipeline hands it each message that it would otherwise store (after the same checks),
so nothing goes to the network."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from segment_web.process.registry import on_fork_in_child

Sink = Callable[[object, dict[str, Any]], None]

_lock = threading.Lock()


def _new_lock_in_forked_child() -> None:
    global _lock
    _lock = threading.Lock()


on_fork_in_child(_new_lock_in_forked_child)
sinks: tuple[Sink, ...] = ()  # a tuple, so the hot path reads it without a lock


def add_sink(sink: Sink) -> None:
    global sinks
    with _lock:
        sinks = (*sinks, sink)


def remove_sink(sink: Sink) -> None:
    global sinks
    with _lock:
        # ==, not `is`: each `obj.method` access makes a new bound method, equal but distinct
        kept = list(sinks)
        if sink in kept:
            kept.remove(sink)  # one registration only, in case a sink was added twice
        sinks = tuple(kept)
