"""The spool engine on real files: writing, reading back, acknowledging, adopting."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_web.spool import Orphan, Spool, SpoolFull
from segment_web.spool.files import segment_numbers

ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant0"


def message(n: int) -> bytes:
    return json.dumps({"messageId": f"m{n}", "padding": "x" * 200}).encode()


def read_all(reader: Spool | Orphan, spool: Spool | None = None) -> list[bytes]:
    found: list[bytes] = []
    if isinstance(reader, Spool):
        cursor = reader.cursor(0)
        while batch := cursor.read(limit=reader.end, max_records=100, max_bytes=500_000):
            found.extend(p for p, _ in batch)
        cursor.close()
    else:
        while batch := reader.read(max_records=100, max_bytes=500_000):
            found.extend(p for p, _ in batch)
    return found


@pytest.fixture
def spools(tmp_path: Path) -> Iterator[list[Spool]]:
    made: list[Spool] = []
    yield made
    for spool in made:
        with contextlib.suppress(OSError):
            spool.close()


def make(spools: list[Spool], directory: Path, **options: int | float) -> Spool:
    options.setdefault("max_bytes", 1 << 30)
    options.setdefault("fsync_interval", 1.0)
    spool = Spool(directory, tenant=TENANT, **options)  # type: ignore[arg-type]
    spools.append(spool)
    return spool


def test_records_are_read_back_in_order_across_segments(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spool = make(spools, tmp_path, segment_bytes=64 * 1024)
    written = [message(n) for n in range(1000)]
    for payload in written:
        spool.append(payload)
    assert len(segment_numbers(str(tmp_path), spool.owner)) > 3
    assert read_all(spool) == written


def test_a_cursor_stops_at_the_limit_and_at_batch_bounds(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spool = make(spools, tmp_path)
    ends = [spool.append(message(n)) for n in range(50)]
    cursor = spool.cursor(0)
    batch = cursor.read(limit=ends[9], max_records=100, max_bytes=500_000)
    assert [p for p, _ in batch] == [message(n) for n in range(10)]
    assert batch[-1][1] == ends[9]
    small = cursor.read(limit=spool.end, max_records=100, max_bytes=3 * (len(message(10)) + 1))
    assert [p for p, _ in small] == [message(n) for n in range(10, 13)]
    cursor.close()


def test_acknowledged_segments_are_deleted_and_an_empty_spool_leaves_nothing(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spool = make(spools, tmp_path, segment_bytes=64 * 1024)
    ends = [spool.append(message(n)) for n in range(4000)]
    full = spool.bytes_used
    spool.acknowledge(ends[1999])
    assert spool.bytes_used < full * 0.6
    spool.delete_delivered()  # the syncer thread's job, once a second
    assert segment_numbers(str(tmp_path), spool.owner)[0] > 0
    spool.acknowledge(ends[-1])
    assert spool.empty
    spools.remove(spool)
    spool.close()
    assert os.listdir(tmp_path) == []


def test_appends_past_max_bytes_raise_spool_full_until_space_is_freed(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spool = make(spools, tmp_path, max_bytes=64 * 1024, segment_bytes=16 * 1024)
    ends = []
    with pytest.raises(SpoolFull):
        for n in range(1000):
            ends.append(spool.append(message(n)))
    assert spool.bytes_used <= 64 * 1024
    spool.acknowledge(ends[-1])
    spool.append(message(1000))


def test_a_closed_spool_with_undelivered_records_is_adopted_by_the_next(
    tmp_path: Path, spools: list[Spool]
) -> None:
    first = Spool(
        tmp_path, tenant=TENANT, max_bytes=1 << 30, fsync_interval=1.0, segment_bytes=64 * 1024
    )
    ends = [first.append(message(n)) for n in range(600)]
    first.acknowledge(ends[199])
    first.close()

    second = make(spools, tmp_path)
    orphans = second.adopt_orphans()
    assert [o.owner for o in orphans] == [first.owner]
    assert orphans[0].count() == (400, sum(len(message(n)) + 1 for n in range(200, 600)))
    assert read_all(orphans[0]) == [message(n) for n in range(200, 600)]
    assert second.adopt_orphans() == []  # held by this process while it drains it
    orphans[0].remove()
    assert sorted(os.listdir(tmp_path)) == sorted(
        name for name in os.listdir(tmp_path) if name.startswith(second.owner)
    )


def test_an_orphan_released_part_way_resumes_from_its_acknowledged_position(
    tmp_path: Path, spools: list[Spool]
) -> None:
    first = Spool(tmp_path, tenant=TENANT, max_bytes=1 << 30, fsync_interval=1.0)
    for n in range(300):
        first.append(message(n))
    first.close()
    adopter = make(spools, tmp_path)
    (orphan,) = adopter.adopt_orphans()
    batch = orphan.read(max_records=100, max_bytes=500_000)
    orphan.acknowledge(batch[-1][1])
    orphan.release()

    (again,) = make(spools, tmp_path).adopt_orphans()
    assert read_all(again) == [message(n) for n in range(100, 300)]
    again.release()


def spool_process(directory: Path, count: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.spool.engine_process", str(directory), str(count)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()  # the child writes it once its records are out
    assert line[:1] == ["written"], line
    return process, line[1]


def test_a_live_processs_spool_is_never_adopted_and_a_killed_ones_is(
    tmp_path: Path, spools: list[Spool]
) -> None:
    process, owner = spool_process(tmp_path, 2000)
    try:
        adopter = make(spools, tmp_path)
        assert adopter.adopt_orphans() == []
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        (orphan,) = adopter.adopt_orphans()
        assert orphan.owner == owner
        assert read_all(orphan) == [b'{"n":%d}' % n for n in range(2000)]
        orphan.remove()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_of_several_adopters_exactly_one_gets_each_orphan(
    tmp_path: Path, spools: list[Spool]
) -> None:
    process, owner = spool_process(tmp_path, 10)
    process.kill()
    process.wait(30)
    adopters = [make(spools, tmp_path) for _ in range(4)]
    taken = [orphan for adopter in adopters for orphan in adopter.adopt_orphans()]
    assert [orphan.owner for orphan in taken] == [owner]
    taken[0].release()


def test_damage_in_an_orphan_is_logged_and_every_intact_record_kept(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    first = Spool(tmp_path, tenant=TENANT, max_bytes=1 << 30, fsync_interval=1.0)
    for n in range(100):
        first.append(message(n))
    first.close()
    (segment,) = [p for p in tmp_path.iterdir() if p.suffix == ".seg"]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x40  # a bad block in the middle
    segment.write_bytes(bytes(data[:-7]))  # and a torn last write
    (orphan,) = make(spools, tmp_path).adopt_orphans()
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        got = read_all(orphan)
    assert len(got) == 98
    assert set(got) <= {message(n) for n in range(99)}
    assert message(0) in got and message(98) in got
    assert len([r for r in caplog.records if "damaged" in r.getMessage()]) == 2
    orphan.remove()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_forgets_the_parents_spool_without_unlocking_it(
    tmp_path: Path, spools: list[Spool]
) -> None:
    parent = make(spools, tmp_path)
    parent.append(message(1))
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            parent.forget()
            child = Spool(tmp_path, tenant=TENANT, max_bytes=1 << 20, fsync_interval=0)
            child.append(message(2))
            # the parent lives and holds its lock: nothing to adopt
            code = 0 if child.adopt_orphans() == [] else 2
            child.close()  # not empty: left for adoption
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    other = make(spools, tmp_path)
    (orphan,) = other.adopt_orphans()  # the child's, not the parent's
    assert read_all(orphan) == [message(2)]
    orphan.remove()


BLOCKED_WRITE = """
import os, sys, threading, time
from segment_web.spool import Spool

spool = Spool(sys.argv[1], tenant="t", max_bytes=1 << 30, fsync_interval=60.0)
read_end, write_end = os.pipe()  # stands for a disk that stalls: a full pipe
os.set_blocking(write_end, False)
try:
    while True:
        os.write(write_end, b"x" * 65536)
except BlockingIOError:
    pass
os.set_blocking(write_end, True)
spool._writer.fd = write_end
writer = threading.Thread(target=spool.append, args=(b"{}",))
writer.start()
# This thread must run while the other one is blocked in write(2).
syscall = f"/proc/self/task/{writer.native_id}/syscall"
deadline = time.monotonic() + 20
while open(syscall).read().split()[0] != "1":  # 1: write, on x86-64 and the like
    assert time.monotonic() < deadline, "the write never blocked"
    time.sleep(0.001)
print("ran while the write was blocked", flush=True)
while writer.is_alive():
    os.read(read_end, 1 << 20)
    writer.join(0.01)
"""


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or os.uname().machine not in ("x86_64", "i686"),
    reason="reads the blocked thread's syscall from /proc (Linux, x86)",
)
def test_a_write_that_blocks_stops_no_other_thread(tmp_path: Path) -> None:
    # With the GIL held across the write, the main thread could not run until the pipe
    # was drained, which only it does: the process would hang until the timeout.
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_WRITE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"ran while the write was blocked\n"
