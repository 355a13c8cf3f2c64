"""Message ids: valid, unique version-4 UUIDs, and not repeated by a forked child."""

from __future__ import annotations

import os
import uuid

from segment_web.wire.ids import fast_message_id


def test_message_ids_are_valid_and_unique() -> None:
    ids = {fast_message_id() for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    fast_message_id()  # the parent's generator has state a child would copy
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids to the parent, then leave at once
        try:
            os.write(write, ",".join(fast_message_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child_ids = pipe.read().decode().split(",")
    os.waitpid(pid, 0)
    parent_ids = [fast_message_id() for _ in range(3)]
    assert len(child_ids) == 3
    assert not set(child_ids) & set(parent_ids)
