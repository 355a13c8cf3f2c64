"""The spool never loses in silence, never mixes tenants: real processes, SIGKILL, a
directory deleted under a running client, a cleaner removing a lock, a full disk."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.spool.conftest import StartProcess
from tests.support.recording_server import OUTAGE, RecordingServer

pytestmark = pytest.mark.slow

PATIENT = {"max_retries": 100_000, "flush_at": 100}


def ids(server: RecordingServer) -> list[str]:
    return [message["messageId"] for message in server.messages]


def test_a_killed_processs_spool_goes_only_to_the_same_write_key_and_host(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    killed = start_process(tmp_path, "a", 300, write_key="key-a", options=PATIENT)
    killed.answer()
    killed.kill()
    server.end_outage()
    assert not any("key-a" in name for name in os.listdir(tmp_path))

    elsewhere = RecordingServer()  # the same write key in another region
    try:
        other_key = start_process(tmp_path, "b", 0, write_key="key-b", options=PATIENT)
        other_host = start_process(
            tmp_path, "d", 0, write_key="key-a", url=elsewhere.url, options=PATIENT
        )
        for process in (other_key, other_host):
            process.answer()
            assert process.command("flush") == {"flushed": 0, "dropped": []}
            process.exit()
            assert "taking over" not in process.log()
        assert server.messages == [] and elsewhere.messages == []
    finally:
        elsewhere.close()

    same = start_process(tmp_path, "c", 0, write_key="key-a", options=PATIENT)
    same.answer()
    assert same.command("flush", timeout=120)["flushed"] == 300
    assert sorted(ids(server)) == sorted(f"a-{n}" for n in range(300))
    assert {request.body["writeKey"] for request in server.accepted} == {"key-a"}
    same.exit()
    assert os.listdir(tmp_path) == []


def test_a_spool_directory_deleted_while_running_is_made_again_with_what_is_pending(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    server.default = OUTAGE
    options = {**PATIENT, "spool_fsync_interval": 0.05}
    process = start_process(spool_dir, "a", 500, options=options)
    assert process.answer()["not_spooled"] == 0
    shutil.rmtree(spool_dir)

    # The app goes on tracking; the deleted files are noticed (by the syncer thread
    # within spool_fsync_interval, or at the end of a segment) and the spool made again.
    more = 0
    deadline = time.monotonic() + 60
    while not (spool_dir.is_dir() and list(spool_dir.glob("*.seg"))):
        assert time.monotonic() < deadline, "the spool directory was never made again"
        answer = process.command("track 1")
        more += 1
    assert answer["not_spooled"] >= 500  # each pending message reported (spool_failed)
    process.kill()
    assert "were deleted while in use" in process.log()

    server.end_outage()
    successor = start_process(spool_dir, "b", 0, options=PATIENT)
    successor.answer()
    assert successor.command("flush", timeout=120)["flushed"] == 500 + more
    expected = [f"a-{n}" for n in range(500)] + ["a-more-0"] * more  # ids start again per command
    assert sorted(ids(server)) == sorted(expected)  # every one, exactly once
    successor.exit()


def test_an_orphan_whose_lock_a_cleaner_removed_is_taken_over_once_its_owner_is_dead(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    owner = start_process(tmp_path, "a", 600, options=PATIENT)
    owner.answer()
    (lock,) = tmp_path.glob("*.lock")
    lock.unlink()  # as an age-based cleaner of /tmp does

    watcher = start_process(tmp_path, "b", 10, options=PATIENT, scout_interval=0.1)
    watcher.answer()
    assert "taking over" not in watcher.log()  # its owner lives: not an orphan
    owner.kill()
    server.end_outage()
    server.wait_for(610, timeout=60)  # taken over by the watcher's next look
    expected = [f"a-{n}" for n in range(600)] + [f"b-{n}" for n in range(10)]
    assert sorted(ids(server)) == sorted(expected)
    watcher.exit()
    assert "taking over 600 message(s)" in watcher.log()
    assert os.listdir(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only): a disk that really fills up."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> None:
    """Write a file until the disk refuses."""
    chunk = b"x" * 4096
    with open(directory / "filler", "wb", buffering=0) as filler:
        for _ in range(100_000):
            try:
                filler.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                return
    raise AssertionError("the disk never filled")


def test_on_a_full_disk_delivered_segments_are_deleted_and_make_room(
    small_disk: Path, server: RecordingServer, start_process: StartProcess
) -> None:
    spool_dir = small_disk / "spool"
    server.default = OUTAGE
    options = {**PATIENT, "spool_max_bytes": 1 << 20}  # 64 KiB segments
    process = start_process(spool_dir, "a", 1500, options=options)
    assert process.answer()["not_spooled"] == 0
    assert len(list(spool_dir.glob("*.seg"))) > 3
    fill(small_disk)

    server.end_outage()
    assert process.command("flush", timeout=120)["flushed"] == 1500
    # Every finished segment is deleted (by the syncer thread, within a second), though
    # the disk is full: delivered messages never wait for an acknowledgement to be written.
    deadline = time.monotonic() + 30
    while len(list(spool_dir.glob("*.seg"))) > 1:
        assert time.monotonic() < deadline, "delivered segments were never deleted"
        time.sleep(0.05)
    assert process.command("track 100")["not_spooled"] == 0  # the room they freed is used
    process.kill()

    successor = start_process(spool_dir, "b", 0, options=options)
    successor.answer()
    successor.command("flush", timeout=120)
    delivered = ids(server)
    assert set(delivered) == {f"a-{n}" for n in range(1500)} | {f"a-more-{n}" for n in range(100)}
    assert len(delivered) - len(set(delivered)) <= 100  # at most the batch in flight
    successor.exit()
    assert os.listdir(spool_dir) == []
