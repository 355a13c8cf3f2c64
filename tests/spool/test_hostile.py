"""A spool directory is untrusted input: permissions, planted files and records, odd
entries, other tenants' spools (issue 23 §1)."""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segment_web import LeftInSpool, signals
from segment_web.delivery.transport import batch_endpoint
from segment_web.spool import Spool
from segment_web.spool.files import segment_path, tenant_of
from segment_web.spool.records import encode
from tests.spool.conftest import MakeClient
from tests.support.recording_server import RecordingServer, Reply

NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="changing a file's owner needs root",
)


def message(n: int) -> bytes:
    return b'{"type":"track","event":"Planted","userId":"u","messageId":"m%d"}' % n


def leave_spool(directory: Path, tenant: str, payloads: list[bytes]) -> str:
    """A spool left with undelivered records (as a closed or dead client leaves one)."""
    spool = Spool(directory, tenant=tenant, max_bytes=1 << 30, fsync_interval=0)
    for payload in payloads:
        spool.append(payload)
    spool.close()
    return spool.owner


def adopter(directory: Path, tenant: str) -> Spool:
    return Spool(directory, tenant=tenant, max_bytes=1 << 30, fsync_interval=0)


def read_orphans(spool: Spool) -> dict[str, list[bytes]]:
    found = {}
    for orphan in spool.adopt_orphans():
        records = []
        while batch := orphan.read(max_records=100, max_bytes=1 << 20):
            records.extend(payload for payload, _ in batch)
        found[orphan.owner] = records
        orphan.release()
    return found


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def dropped() -> Iterator[list[dict[str, Any]]]:
    reports: list[dict[str, Any]] = []

    def receive(sender: object, **report: Any) -> None:
        reports.append(report)

    signals.message_dropped.connect(receive)
    yield reports
    signals.message_dropped.disconnect(receive)


# -- permissions -----------------------------------------------------------------------


def test_under_umask_0_the_directory_is_0700_and_every_file_0600(
    umask_zero: None, make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    server.default = Reply(status=503)
    directory = tmp_path / "missing" / "spool"
    client = make_client(directory, max_retries=100_000)
    for n in range(5):
        client.track(user_id="u", event=f"E{n}")
    for path in (directory, directory.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    names = os.listdir(directory)
    assert {name.rsplit(".", 1)[-1] for name in names} == {"lock", "ack", "seg"}
    for name in names:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_a_directory_writable_by_others_is_refused_and_the_client_works_from_memory(
    umask_zero: None,
    make_client: MakeClient,
    server: RecordingServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        client = make_client(directory)
    assert "writable by other users (mode 0777)" in caplog.text
    assert "chmod 700" in caplog.text and str(directory) in caplog.text
    assert os.listdir(directory) == []  # nothing written there
    message_id = client.track(user_id="u", event="Still Sent")
    assert client.flush(timeout=30) == 1
    assert [m["messageId"] for m in server.messages] == [message_id]


@needs_root
def test_a_directory_of_another_owner_is_refused(
    make_client: MakeClient,
    server: RecordingServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, NOBODY, NOBODY)
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        client = make_client(directory)
    assert f"owned by another user (uid {NOBODY})" in caplog.text
    assert os.listdir(directory) == []
    client.track(user_id="u", event="Still Sent")
    assert client.flush(timeout=30) == 1


# -- planted files ---------------------------------------------------------------------


@needs_root
def test_a_record_planted_by_another_user_is_never_read(tmp_path: Path) -> None:
    owner = leave_spool(tmp_path, "t", [message(1), message(2)])
    planted = segment_path(str(tmp_path), owner, 7)  # after the owner's own segment
    with open(planted, "wb") as file:
        file.write(encode(message(666)))  # CRC-valid
    os.chown(planted, NOBODY, NOBODY)
    # and a whole spool of another user's: lock, ack and segment
    stranger = leave_spool(tmp_path, "t", [message(777)])
    for name in os.listdir(tmp_path):
        if name.startswith(stranger):
            os.chown(tmp_path / name, NOBODY, NOBODY)

    spool = adopter(tmp_path, "t")
    try:
        assert read_orphans(spool) == {owner: [message(1), message(2)]}
    finally:
        spool.close()


def test_a_link_planted_at_an_orphans_ack_is_never_written_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "spool"
    owner = leave_spool(directory, "t", [message(1)])
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious bytes")
    ack = directory / f"{owner}.ack"
    ack.unlink()
    ack.symlink_to(victim)

    spool = adopter(directory, "t")
    try:
        with caplog.at_level(logging.ERROR, logger="segment_web"):
            for orphan in spool.adopt_orphans():
                orphan.read(max_records=100, max_bytes=1 << 20)
                orphan.acknowledge(1 << 20)  # as a delivered batch would
                orphan.remove()
    finally:
        spool.close()
    assert victim.read_bytes() == b"precious bytes"
    assert ack.is_symlink()
    assert f"cannot take over the spool {owner}" in caplog.text


def test_an_orphan_is_taken_over_from_its_segments_when_its_lock_file_is_gone(
    tmp_path: Path,
) -> None:
    owner = leave_spool(tmp_path, "t", [message(1), message(2)])
    (tmp_path / f"{owner}.lock").unlink()  # an age-based cleaner of /tmp
    spool = adopter(tmp_path, "t")
    try:
        assert read_orphans(spool) == {owner: [message(1), message(2)]}
    finally:
        spool.close()


def test_a_live_spool_whose_lock_file_is_gone_is_not_taken_over(tmp_path: Path) -> None:
    live = Spool(tmp_path, tenant="t", max_bytes=1 << 30, fsync_interval=0)
    try:
        live.append(message(1))
        (tmp_path / f"{live.owner}.lock").unlink()
        spool = adopter(tmp_path, "t")
        try:
            assert read_orphans(spool) == {}
        finally:
            spool.close()
    finally:
        live.close()


# -- odd entries -----------------------------------------------------------------------


def test_odd_entries_skip_only_themselves_and_leave_no_lock_held(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = leave_spool(tmp_path, "t", [message(1)])
    os.mkdir(tmp_path / "t-1-aaaaaaaaaaaa.lock")  # a directory named like a lock
    os.symlink("t-2-bbbbbbbbbbbb.lock", tmp_path / "t-2-bbbbbbbbbbbb.lock")  # a loop
    broken = leave_spool(tmp_path, "t", [message(2)])
    (tmp_path / f"{broken}.ack").unlink()
    os.mkdir(tmp_path / f"{broken}.ack")  # its lock is taken, then its ack refused
    last = leave_spool(tmp_path, "t", [message(3)])

    spool = adopter(tmp_path, "t")
    try:
        with caplog.at_level(logging.ERROR, logger="segment_web"):
            assert read_orphans(spool) == {first: [message(1)], last: [message(3)]}
    finally:
        spool.close()
    assert f"cannot take over the spool {broken}" in caplog.text
    fd = os.open(tmp_path / f"{broken}.lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: the failed take let go
    finally:
        os.close(fd)


# -- records ---------------------------------------------------------------------------


def test_a_record_that_is_not_one_json_object_is_dropped_alone_and_reported(
    make_client: MakeClient,
    server: RecordingServer,
    tmp_path: Path,
    dropped: list[dict[str, Any]],
) -> None:
    tenant = tenant_of("test-key", batch_endpoint(server.url))
    injected = b'{"messageId":"x"}],"writeKey":"attacker","context":{"a":[{"b":1}'
    leave_spool(
        tmp_path,
        tenant,
        [message(1), b"[1, 2]", injected, b'{"a": NaN}', b"\xff not utf-8", message(2)],
    )
    client = make_client(tmp_path)
    assert client.flush(timeout=30) == 2
    assert [m["messageId"] for m in server.messages] == ["m1", "m2"]
    (request,) = server.accepted
    assert set(request.body) == {"batch", "sentAt", "writeKey"}
    assert request.body["writeKey"] == "test-key"
    reasons = [report["reason"] for report in dropped]
    assert len(reasons) == 4
    assert all(reason.startswith("a message read back from the spool is") for reason in reasons)
    assert "not a JSON object (a list)" in reasons[0]
    assert "not valid JSON" in reasons[1]


# -- tenants ---------------------------------------------------------------------------


def test_in_one_process_a_client_never_takes_another_write_keys_spool(
    make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    server.default = Reply(status=503)
    first = make_client(tmp_path, write_key="key-a", max_retries=100_000)
    sent = [first.track(user_id="u", event=f"E{n}") for n in range(20)]
    first.shutdown(timeout=0.5)  # the outage goes on: its messages stay in the spool
    thread = first._pipeline.delivery_thread
    if thread is not None:
        thread.join(30)
    server.default = Reply()

    other = make_client(tmp_path, write_key="key-b")
    other.track(user_id="u", event="B's own")
    assert other.flush(timeout=30) == 1
    assert [m["event"] for m in server.messages] == ["B's own"]
    assert {r.body["writeKey"] for r in server.accepted} == {"key-b"}

    elsewhere = RecordingServer()
    try:
        same_key_other_host = make_client(tmp_path, write_key="key-a", host=elsewhere.url)
        assert same_key_other_host.flush(timeout=30) == 0
        assert elsewhere.messages == []
    finally:
        elsewhere.close()

    owner = make_client(tmp_path, write_key="key-a")
    assert owner.flush(timeout=30) == 20
    assert [m["messageId"] for m in server.messages[1:]] == sent
    assert {r.body["writeKey"] for r in server.accepted[1:]} == {"key-a"}


def test_no_file_name_holds_the_write_key(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client(tmp_path, write_key="secret-write-key-123")
    client.track(user_id="u", event="E")
    assert os.listdir(tmp_path)
    assert not any("secret" in name for name in os.listdir(tmp_path))


# -- shutdown --------------------------------------------------------------------------


def test_a_batch_in_flight_at_shutdown_is_reported_left_in_the_spool(
    make_client: MakeClient, server: RecordingServer, tmp_path: Path
) -> None:
    server.default = Reply(status=503)
    errors: list[Exception | None] = []
    client = make_client(tmp_path, max_retries=100_000, flush_at=5)
    for n in range(5):
        client.track(user_id="u", event=f"E{n}", callback=lambda error, batch: errors.append(error))
    server.wait_requests(1)  # the batch is in flight, retrying
    client.shutdown(timeout=0.5)
    thread = client._pipeline.delivery_thread
    if thread is not None:
        thread.join(30)
    assert len(errors) == 5
    assert all(isinstance(error, LeftInSpool) for error in errors)
    assert all("left in the spool for the next process" in str(error) for error in errors)

    server.default = Reply()
    successor = make_client(tmp_path)
    assert successor.flush(timeout=30) == 5  # sent once, by the next client
