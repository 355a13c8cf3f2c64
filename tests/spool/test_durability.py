"""Durable delivery end to end: real processes, SIGKILL, real files, the recording server."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.spool.conftest import StartProcess
from tests.support.recording_server import OUTAGE, RecordingServer, Reply

pytestmark = pytest.mark.slow

# Retrying for the whole test: a batch that finally failed would leave the spool.
PATIENT = {"max_retries": 100_000, "flush_at": 100}


def ids(server: RecordingServer) -> list[str]:
    return [message["messageId"] for message in server.messages]


def test_a_process_killed_during_an_outage_loses_nothing(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    crashed = start_process(tmp_path, "a", 20_000, options={**PATIENT, "max_queue_size": 1000})
    assert crashed.answer(timeout=120) == {"tracked": 20_000, "dropped": [], "not_spooled": 0}
    crashed.kill()
    server.end_outage()

    successor = start_process(tmp_path, "b", 0, options=PATIENT)
    successor.answer()
    assert successor.command("flush", timeout=120) == {"flushed": 20_000, "dropped": []}
    delivered = ids(server)
    assert sorted(delivered) == sorted(f"a-{n}" for n in range(20_000))  # each exactly once
    successor.exit()
    assert os.listdir(tmp_path) == []  # delivered spools leave no files behind
    assert "taking over 20000 message(s)" in successor.log()


IN_FLIGHT = {"flush_at": 50, "max_batch_size": 50, "max_in_flight": 4}


def test_a_process_killed_while_delivering_resends_at_most_its_batches_in_flight(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    # Answers come back out of order (several batches in flight, different delays), so
    # acknowledgements reach the spool out of order too.
    server.cycle(Reply(delay=0.04), Reply(delay=0.005), Reply(delay=0.02), Reply(delay=0.01))
    crashed = start_process(tmp_path, "a", 20_000, options=IN_FLIGHT)
    crashed.answer(timeout=120)
    server.wait_for(2_000, timeout=60)
    crashed.kill()
    first_life = [request.body["batch"] for request in server.accepted]
    before = len({m["messageId"] for batch in first_life for m in batch})
    assert before < 20_000, "delivery was over before the kill: nothing was tested"
    assert len({request.peer for request in server.requests}) > 1  # several in flight

    server.cycle()
    successor = start_process(tmp_path, "b", 0, options=IN_FLIGHT)
    successor.answer()
    successor.command("flush", timeout=120)
    server.wait_for(20_000, timeout=60)  # includes batches the server answered after the kill
    delivered = ids(server)
    assert set(delivered) == {f"a-{n}" for n in range(20_000)}
    sent_twice = {id_ for id_, times in Counter(delivered).items() if times > 1}
    # At most the batches in flight at the kill (max_in_flight=4 of 50) are sent again.
    assert len(sent_twice) <= 4 * 50
    batches_sent_twice = [
        batch for batch in first_life if any(m["messageId"] in sent_twice for m in batch)
    ]
    assert len(batches_sent_twice) <= 4
    successor.exit()


def test_of_processes_sharing_a_spool_dir_exactly_one_takes_over_a_killed_ones_messages(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    killed = start_process(tmp_path, "a", 3_000, options=PATIENT)
    survivor = start_process(tmp_path, "b", 3_000, options=PATIENT)
    killed.answer()
    survivor.answer()
    killed.kill()

    server.end_outage()
    # Two new processes start at once with the same spool_dir, while the survivor runs.
    newcomers = [start_process(tmp_path, tag, 1_000, options=PATIENT) for tag in ("c", "d")]
    for newcomer in newcomers:
        newcomer.answer()
    flushed = [process.command("flush", timeout=120)["flushed"] for process in newcomers]
    assert sorted(flushed) == [1_000, 4_000]  # one of them also sent the killed one's 3,000
    assert survivor.command("flush", timeout=120)["flushed"] == 3_000
    delivered = ids(server)
    expected = [
        f"{tag}-{n}"
        for tag, count in (("a", 3000), ("b", 3000), ("c", 1000), ("d", 1000))
        for n in range(count)
    ]
    assert sorted(delivered) == sorted(expected)  # every message exactly once
    for process in (survivor, *newcomers):
        process.exit()
    assert os.listdir(tmp_path) == []


def test_a_torn_last_record_and_a_flipped_byte_lose_only_those_two_messages(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    crashed = start_process(tmp_path, "a", 500, options=PATIENT)
    crashed.answer()
    crashed.kill()
    server.end_outage()
    (segment,) = tmp_path.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01  # a bad block in the middle
    segment.write_bytes(bytes(data[:-5]))  # and a write torn by the crash

    successor = start_process(tmp_path, "b", 0, options=PATIENT)
    successor.answer()
    assert successor.command("flush", timeout=120)["flushed"] == 498
    delivered = ids(server)
    assert len(delivered) == len(set(delivered)) == 498
    missing = {f"a-{n}" for n in range(500)} - set(delivered)
    assert len(missing) == 2 and "a-499" in missing
    successor.exit()
    assert successor.log().count("is damaged") == 2


def test_a_disk_that_refuses_writes_never_breaks_the_calls(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    # Past 16 KB every write to a file fails (EFBIG), as on a full disk.
    process = start_process(tmp_path, "a", 500, fsize_limit=16_384, options=PATIENT)
    tracked = process.answer()
    assert tracked["dropped"] == [] and 400 < tracked["not_spooled"] < 500
    assert process.command("flush", timeout=120)["flushed"] == 500
    assert sorted(ids(server)) == sorted(f"a-{n}" for n in range(500))
    process.exit()
    assert process.log().count("cannot write to the spool") == 1


def test_a_process_that_made_no_call_yet_takes_over_the_spool_of_one_that_died(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    # An idle worker has no delivery thread of its own: its spool's scout starts one
    # when it finds the dead neighbour's messages.
    server.default = OUTAGE
    idle = start_process(tmp_path, "idle", 0, options=PATIENT, scout_interval=0.2)
    idle.answer()
    killed = start_process(tmp_path, "a", 50, options=PATIENT)
    killed.answer()
    killed.kill()

    server.end_outage()
    server.wait_for(50, timeout=30)  # sent by the idle one, never called
    assert sorted(ids(server)) == sorted(f"a-{n}" for n in range(50))
    idle.exit()
    assert "taking over 50 message(s)" in idle.log()
    assert os.listdir(tmp_path) == []


def test_a_running_process_takes_over_the_spool_of_one_that_died_beside_it(
    server: RecordingServer, start_process: StartProcess, tmp_path: Path
) -> None:
    server.default = OUTAGE
    killed = start_process(tmp_path, "a", 3_000, options=PATIENT)
    killed.answer()
    survivor = start_process(tmp_path, "b", 3_000, options=PATIENT, scout_interval=0.2)
    survivor.answer()
    killed.kill()

    server.end_outage()
    assert survivor.command("flush", timeout=120)["flushed"] >= 3_000
    server.wait_for(6_000, timeout=60)  # the killed one's, sent by the survivor unasked
    expected = [f"{tag}-{n}" for tag in ("a", "b") for n in range(3_000)]
    assert sorted(ids(server)) == sorted(expected)  # every message exactly once
    survivor.exit()
    assert "taking over 3000 message(s)" in survivor.log()
    assert os.listdir(tmp_path) == []
