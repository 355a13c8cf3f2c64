"""Message ids: random version-4 UUID strings, without a system call per id.

``uuid.uuid4()`` reads ``os.urandom`` for every id, a system call that costs several
microseconds in sandboxes and VMs. Message ids must be unique, not secret, so a
private generator seeded from the OS (and re-seeded in a forked child by
``segment_web.process.registry``, since a child would otherwise repeat its parent's ids) does
the job in a fraction of that.
Ids that must not be predictable (an anonymous id kept in a browser cookie) come
from ``uuid.uuid4()`` or ``secrets`` instead.
"""

from __future__ import annotations

import random

_generator = random.Random()
_VERSION_4 = 0x4000 << 64  # the version nibble (time_hi_and_version)
_VARIANT_RFC_4122 = 0x8000 << 48  # the variant bits (clock_seq_hi_and_reserved)
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))


def fast_message_id() -> str:
    """A new message id: a version-4 UUID string, unique but predictable (not a secret)."""
    bits = (_generator.getrandbits(128) & _CLEAR) | _VERSION_4 | _VARIANT_RFC_4122
    text = bits.to_bytes(16, "big").hex()  # faster than f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def reseed_after_fork() -> None:
    """Re-seed from the OS in a forked child, so it does not repeat its parent's ids."""
    _generator.seed()
