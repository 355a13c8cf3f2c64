"""Forking as a server written in C does it, for the tests of what a child inherits.

``fork_without_hooks()`` runs none of Python's at-fork hooks, so CPython does not reset
its own thread state in the child either: a child of a process whose other threads are
busy (taking the GIL, starting threads, as a test runner's are) may hang in CPython
itself. The scenarios below therefore run in a process of their own
(``python -m tests.support.forking SCENARIO [URL]``), whose only other thread is the
client's delivery thread, waiting, as in a uWSGI master; each prints its findings as
JSON for the test to check.
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import linecache
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

CHILD_TIMEOUT = 20.0


def fork_without_hooks() -> int:
    """``fork()`` called straight from libc, as uWSGI forks its workers: none of the
    hooks of ``os.register_at_fork`` run, in the child or in the parent. The GIL is
    released across the call (``CDLL``), as the uWSGI master releases it before it
    forks, and taken afresh in the child. Returns 0 in the child, the child's pid in
    the parent."""
    libc = ctypes.CDLL(None, use_errno=True)
    pid: int = libc.fork()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "fork() failed")
    return pid


def wait_child(pid: int, timeout: float = CHILD_TIMEOUT) -> int:
    """The child's exit code; kills it and fails if it does not exit in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"forked child did not exit within {timeout}s")


def wait_until_asleep(thread: threading.Thread, timeout: float = CHILD_TIMEOUT) -> None:
    """Wait until ``thread`` sleeps in ``Condition.wait(timeout)``, as an idle delivery
    thread does for a second between wake-ups.

    Forked while another thread holds the GIL or waits for it, a child that runs no
    at-fork hook hangs in CPython itself (the GIL's lock and condition are copied in
    use); a uWSGI master forks when its threads, if any, sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        frame = sys._current_frames().get(thread.ident or 0)
        if frame is not None and frame.f_code is threading.Condition.wait.__code__:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            if "waiter.acquire(True, timeout)" in line:  # blocked there, the GIL released
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{thread.name} did not go to sleep within {timeout}s")
        time.sleep(0.005)


def in_child(work: Callable[[], bool]) -> int:
    """Fork without hooks; the child runs ``work`` and exits 0 if it returned True (3
    if False, 1 if it raised), never returning here. Returns the child's exit code."""
    pid = fork_without_hooks()
    if pid == 0:
        code = 1
        # a hung child shows where it hangs (on stderr) before wait_child gives up on it
        faulthandler.dump_traceback_later(CHILD_TIMEOUT - 5, exit=True)
        try:
            code = 0 if work() else 3
        except BaseException:
            traceback.print_exc()  # to the scenario's stderr, which a failing test shows
        finally:
            os._exit(code)
    return wait_child(pid)


def client_scenario(url: str) -> dict[str, Any]:
    """A client whose delivery thread runs, asleep, with 5 pending messages forks; the
    child sends one message of its own and flushes."""
    from segment_web import Analytics

    client = Analytics("test-key", host=url, flush_at=100, flush_interval=60.0, max_retries=2)
    client.flushed = True  # no first message sent alone: all 5 stay pending
    parent_ids = [client.track(user_id="parent", event=f"P{n}") for n in range(5)]
    # As in a uWSGI master long after start-up, not while the thread handles a wake-up.
    thread = client._pipeline.delivery_thread
    assert thread is not None
    wait_until_asleep(thread)

    def child() -> bool:
        client.track(user_id="child", event="From Child")
        return client.flush(timeout=10) == 1 and client.queued == 0

    child_code = in_child(child)
    delivered = client.flush(timeout=10)
    client.shutdown(timeout=5)
    return {"child": child_code, "parent_ids": parent_ids, "parent_delivered": delivered}


def ids_scenario() -> dict[str, Any]:
    """The next ids of a child and of its parent."""
    from segment_web.wire.ids import fast_message_id

    fast_message_id()  # the parent's generator has state a child would copy
    read, write = os.pipe()

    def child() -> bool:
        os.write(write, ",".join(fast_message_id() for _ in range(3)).encode())
        return True

    child_code = in_child(child)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child_ids = pipe.read().decode().split(",")
    return {
        "child": child_code,
        "child_ids": child_ids,
        "parent_ids": [fast_message_id() for _ in range(3)],
    }


def held_lock_scenario() -> dict[str, Any]:
    """A thread of the parent is inside the pipeline's lock (in the store's append) at
    the fork; the child accepts a message and flushes it."""
    from segment_web.core.pipeline import Pipeline
    from segment_web.delivery.reporting import Reporter
    from segment_web.store import MemoryStore

    class HeldStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__(1000)
            self.held = threading.Event()
            self.inside = threading.Event()
            self.released = threading.Event()

        def append(self, payload: bytes) -> str | None:
            if self.held.is_set():
                self.inside.set()
                self.released.wait(CHILD_TIMEOUT)  # blocked, holding the pipeline's lock
            return super().append(payload)

    class CountingDeliverer:
        def __init__(self) -> None:
            self.reporter = Reporter(self, None)
            self.abort = threading.Event()
            self.delivered = 0

        def deliver(self, entries: list[Any]) -> Exception | None:
            self.delivered += len(entries)
            return None

        def close(self) -> None:
            pass

        def reset_after_fork(self) -> None:
            pass

    store = HeldStore()
    deliverer = CountingDeliverer()
    pipeline = Pipeline(
        store,
        deliverer,  # type: ignore[arg-type]  # the Deliverer's interface, without HTTP
        flush_at=100,
        max_batch_size=100,
        flush_interval=60.0,
        max_batch_bytes=500_000,
        max_queue_size=1000,
        shutdown_timeout=1.0,
    )
    store.held.set()
    holder = threading.Thread(target=pipeline.accept, args=(b'{"n":0}', None))
    holder.start()
    store.inside.wait(CHILD_TIMEOUT)

    def child() -> bool:
        store.held.clear()
        stored = pipeline.accept(b'{"n":1}', None) is None
        return stored and pipeline.flush(10) == (1, None) and deliverer.delivered == 1

    try:
        child_code = in_child(child)
    finally:
        store.held.clear()
        store.released.set()
        holder.join(CHILD_TIMEOUT)
    parent_flush = pipeline.flush(10)
    pipeline.shutdown(2.0, "scenario over")
    return {
        "child": child_code,
        "parent_flush": list(parent_flush),
        "parent_delivered": deliverer.delivered,
    }


def main(argv: list[str]) -> int:
    scenario, *args = argv
    if scenario == "client":
        result = client_scenario(args[0])
    elif scenario == "ids":
        result = ids_scenario()
    elif scenario == "held-lock":
        result = held_lock_scenario()
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
