"""A batch of encoded messages: the request body it makes and, lazily, its messages."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any, overload

MAX_BATCH_BYTES = 500_000  # Segment's 500 KB limit, counted in decimal kilobytes to be safe


def envelope_overhead(write_key: str) -> int:
    """Bytes a request body adds around the comma-joined messages (sentAt included)."""
    return len(_envelope_tail("2000-01-01T00:00:00.000Z", write_key)) + len(b'{"batch":[')


def _envelope_tail(sent_at: str, write_key: str) -> bytes:
    return f'],"sentAt":"{sent_at}","writeKey":{json.dumps(write_key)}}}'.encode()


class Batch(Sequence[dict[str, Any]]):
    """The messages of one request, in order; decoded from their JSON only when read."""

    def __init__(self, payloads: Sequence[bytes]) -> None:
        self.payloads = payloads

    def body(self, sent_at: str, write_key: str) -> bytes:
        """The request body: ``{"batch": [...], "sentAt": ..., "writeKey": ...}``."""
        return b'{"batch":[' + b",".join(self.payloads) + _envelope_tail(sent_at, write_key)

    @cached_property
    def messages(self) -> list[dict[str, Any]]:
        decoded: list[dict[str, Any]] = json.loads(b"[" + b",".join(self.payloads) + b"]")
        return decoded

    @property
    def message_ids(self) -> list[str]:
        return [message["messageId"] for message in self.messages]

    def __len__(self) -> int:
        return len(self.payloads)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.messages[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)

    def __repr__(self) -> str:
        return f"<Batch of {len(self.payloads)} messages>"
