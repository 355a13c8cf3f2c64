"""Message ids: random version-4 UUID strings, without a system call per id.

``uuid.uuid4()`` reads ``os.urandom`` for every id, a system call that costs several
microseconds in sandboxes and VMs. Message ids must be unique, not secret, so a
private generator seeded from the OS does the job in a fraction of that. A forked child
would repeat its parent's ids, so the generator is re-seeded in the child: by
``segment_web.process.registry``'s at-fork hook, or at the child's first id when the fork ran
no hook (uWSGI's workers; see ``segment_web.fork_mark``).
Ids that must not be predictable (an anonymous id kept in a browser cookie) come
from ``uuid.uuid4()`` or ``secrets`` instead.
"""

from __future__ import annotations

import random

from segment_web.fork_mark import ForkMark

_generator = random.Random()
_fork_mark = ForkMark()
_VERSION_4 = 0x4000 << 64  # the version nibble (time_hi_and_version)
_VARIANT_RFC_4122 = 0x8000 << 48  # the variant bits (clock_seq_hi_and_reserved)
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))


def fast_message_id() -> str:
    """A new message id: a version-4 UUID string, unique but predictable (not a secret)."""
    if _fork_mark.moved():
        reseed_after_fork()
    bits = (_generator.getrandbits(128) & _CLEAR) | _VERSION_4 | _VARIANT_RFC_4122
    text = bits.to_bytes(16, "big").hex()  # faster than f"{bits:032x}" (CPython 3.11)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def reseed_after_fork() -> None:
    """Re-seed from the OS in a forked child, so it does not repeat its parent's ids."""
    _generator.seed()
    _fork_mark.renew()
