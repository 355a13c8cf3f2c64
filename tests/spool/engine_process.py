"""A process that owns a spool, for tests of what other processes see of it.

    python -m tests.spool.engine_process DIR COUNT

Writes COUNT records ``{"n": i}``, prints ``written``, then waits for its stdin to
close (or to be killed) and exits with its spool left as it is.
"""

from __future__ import annotations

import sys

from segment_web.spool import Spool


def main() -> None:
    directory, count = sys.argv[1], int(sys.argv[2])
    spool = Spool(
        directory, tenant="tenant0", max_bytes=1 << 30, fsync_interval=1.0, segment_bytes=64 * 1024
    )
    for n in range(count):
        spool.append(b'{"n":%d}' % n)
    print("written", spool.owner, flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
