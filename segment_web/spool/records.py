"""The record format of a spool segment: one encoded message per record.

A record is a 10-byte header, then the message's bytes::

    b"\\xff\\xfe"  length (uint32, little-endian)  CRC-32 (uint32)  payload

The CRC-32 covers the payload and is seeded with the length, so damage to either is
caught. Messages are UTF-8 JSON, in which the bytes 0xFF and 0xFE never occur: after a
damaged record the parser finds the next intact one by looking for the marker, so one
bad block loses only the records it touches.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

MARKER = b"\xff\xfe"
HEADER = struct.Struct("<2sII")
MAX_PAYLOAD = 1 << 24  # far above the 32 KB message limit: a larger length is damage

Position = int
"""Where a record ends: its segment's number in the high 32 bits, the offset below."""


def position(segment: int, offset: int) -> Position:
    return segment << 32 | offset


def segment_of(where: Position) -> int:
    return where >> 32


def offset_of(where: Position) -> int:
    return where & 0xFFFF_FFFF


def encode(payload: bytes) -> bytes:
    """One record holding ``payload``."""
    size = len(payload)
    return HEADER.pack(MARKER, size, zlib.crc32(payload, size)) + payload


@dataclass
class Parsed:
    """What one pass over a buffer found.

    ``records`` are ``(payload, end)`` with ``end`` the offset just past the record;
    ``consumed`` is where parsing stopped (an incomplete record starts there);
    ``damaged`` lists ``(offset, length)`` of skipped bytes that held no intact record.
    """

    records: list[tuple[bytes, int]] = field(default_factory=list)
    consumed: int = 0
    damaged: list[tuple[int, int]] = field(default_factory=list)


def parse(
    buffer: bytes,
    base: int = 0,
    *,
    at_end: bool = False,
    max_records: int | None = None,
    max_bytes: int | None = None,
) -> Parsed:
    """The intact records in ``buffer``, which starts at file offset ``base``.

    Parsing stops at an incomplete record unless ``at_end`` (nothing follows the
    buffer), when the incomplete tail counts as damage (a torn last write). It also
    stops before the record that would take the batch past ``max_records`` or
    ``max_bytes``, counted as payload bytes plus one each (the comma between messages
    in a request body); a first record is always taken.
    """
    result = Parsed()
    records = result.records
    size = len(buffer)
    header_size = HEADER.size
    pos = 0
    batch_bytes = 0
    damage_start = -1
    full = False
    while pos < size:
        if size - pos < header_size:
            break
        marker, length, crc = HEADER.unpack_from(buffer, pos)
        end = pos + header_size + length
        if marker == MARKER and length <= MAX_PAYLOAD:
            if end > size and not at_end:
                break  # incomplete: the rest is in the next read (or the write was torn)
            payload = buffer[pos + header_size : end]
            if zlib.crc32(payload, length) == crc:
                if records and (
                    (max_records is not None and len(records) >= max_records)
                    or (max_bytes is not None and batch_bytes + length + 1 > max_bytes)
                ):
                    full = True
                    break
                if damage_start >= 0:
                    result.damaged.append((base + damage_start, pos - damage_start))
                    damage_start = -1
                records.append((payload, base + end))
                batch_bytes += length + 1
                pos = end
                continue
        if damage_start < 0:
            damage_start = pos
        found = buffer.find(MARKER, pos + 1)
        if found < 0:
            pos = max(pos + 1, size - 1)  # the last byte may begin the next marker
            break
        pos = found
    if at_end and not full and pos < size:
        if damage_start < 0:
            damage_start = pos
        pos = size
    if 0 <= damage_start < pos:
        result.damaged.append((base + damage_start, pos - damage_start))
    result.consumed = pos
    return result
