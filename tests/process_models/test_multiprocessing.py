"""Forked ``multiprocessing`` children end through os._exit() (spawned ones exit
normally): either way what they tracked is flushed as they end, with no flush() in the
target, for Process and Pool."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow

SCRIPT = """
import multiprocessing, os, sys
import segment_web

HOST = {host!r}


def client():
    # once per process: in a forked child it is the parent's (reset for the child),
    # in a spawned one a new one
    if segment_web.default_client() is None:
        segment_web.configure(write_key="mp", host=HOST, flush_at=500, flush_interval=600)
        segment_web.default_client().flushed = True
    return segment_web.default_client()


def track(number):
    client().track(user_id="u", event="In Child", properties={{"number": number}})
    return number


def run_process(first):
    for number in range(first, first + 5):
        track(number)


if __name__ == "__main__":
    context = multiprocessing.get_context({method!r})
    client()
    processes = [context.Process(target=run_process, args=(first,)) for first in (0, 5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    with context.Pool(2) as pool:
        assert pool.map(track, range(10, 40)) == list(range(10, 40))
        pool.close()
        pool.join()
    print(os.getpid(), flush=True)
    os._exit(0)  # the parent tracked nothing; only the children's flushes count
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_flush_as_they_end(server: RecordingServer, method: str, tmp_path: Path) -> None:
    script = tmp_path / "children.py"
    script.write_text(textwrap.dedent(SCRIPT.format(host=server.url, method=method)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    messages = server.wait_for(40, timeout=10)
    by_number = Counter(m["properties"]["number"] for m in messages)
    assert sorted(by_number) == list(range(40)) and set(by_number.values()) == {1}
