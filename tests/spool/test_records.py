"""The record format: framing, checksums, and finding intact records after damage."""

from __future__ import annotations

from segment_web.spool import records


def payloads(n: int) -> list[bytes]:
    return [f'{{"messageId":"m{i}","event":"é{i}"}}'.encode() for i in range(n)]


def framed(items: list[bytes]) -> bytes:
    return b"".join(records.encode(p) for p in items)


def test_records_round_trip_with_their_end_offsets() -> None:
    items = payloads(5)
    data = framed(items)
    parsed = records.parse(data, 100, at_end=True)
    assert [p for p, _ in parsed.records] == items
    assert parsed.records[-1][1] == 100 + len(data)
    assert parsed.consumed == len(data)
    assert parsed.damaged == []


def test_an_incomplete_tail_waits_for_more_data_unless_the_file_ends() -> None:
    items = payloads(3)
    data = framed(items)[:-4]
    more = records.parse(data)
    assert [p for p, _ in more.records] == items[:2]
    assert more.damaged == []
    assert more.consumed == len(framed(items[:2]))

    torn = records.parse(data, at_end=True)
    assert [p for p, _ in torn.records] == items[:2]
    assert torn.damaged == [(len(framed(items[:2])), len(data) - len(framed(items[:2])))]
    assert torn.consumed == len(data)


def test_a_flipped_payload_byte_loses_only_that_record() -> None:
    items = payloads(5)
    data = bytearray(framed(items))
    third = len(framed(items[:2]))
    data[third + records.HEADER.size + 3] ^= 0x01
    parsed = records.parse(bytes(data), at_end=True)
    assert [p for p, _ in parsed.records] == items[:2] + items[3:]
    assert parsed.damaged == [(third, len(records.encode(items[2])))]


def test_a_damaged_length_field_resynchronises_on_the_next_marker() -> None:
    items = payloads(4)
    data = bytearray(framed(items))
    second = len(framed(items[:1]))
    data[second + 2 : second + 6] = (2**31).to_bytes(4, "little")
    parsed = records.parse(bytes(data), at_end=True)
    assert [p for p, _ in parsed.records] == [items[0], *items[2:]]
    assert len(parsed.damaged) == 1


def test_limits_stop_before_a_record_and_never_mark_the_rest_damaged() -> None:
    items = payloads(10)
    data = framed(items)
    by_count = records.parse(data, at_end=True, max_records=3)
    assert [p for p, _ in by_count.records] == items[:3]
    assert by_count.consumed == len(framed(items[:3]))
    assert by_count.damaged == []

    two = sum(len(p) + 1 for p in items[:2])
    by_bytes = records.parse(data, at_end=True, max_bytes=two)
    assert [p for p, _ in by_bytes.records] == items[:2]
    one_too_small = records.parse(data, at_end=True, max_bytes=1)
    assert [p for p, _ in one_too_small.records] == items[:1]  # a first record always fits


def test_garbage_only_is_all_damage() -> None:
    parsed = records.parse(b"x" * 50, at_end=True)
    assert parsed.records == []
    assert parsed.damaged == [(0, 50)]
    assert parsed.consumed == 50
    partial = records.parse(b"x" * 50)
    assert partial.records == []
    assert partial.consumed == 49  # the last byte could begin a marker


def test_a_damaged_length_pointing_past_the_end_of_the_file_loses_one_record() -> None:
    items = payloads(4)
    data = bytearray(framed(items))
    second = len(framed(items[:1]))
    data[second + 2 : second + 6] = (len(data)).to_bytes(4, "little")
    parsed = records.parse(bytes(data), at_end=True)
    assert [p for p, _ in parsed.records] == [items[0], *items[2:]]
    assert parsed.damaged == [(second, len(records.encode(items[1])))]
