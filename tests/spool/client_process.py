"""A process with a spooling client, for tests that kill, restart and fork it.

    python -m tests.spool.client_process '<json config>'

Config: ``url``, ``spool_dir``, ``write_key`` (default ``test-key``), ``options`` (more
``Analytics`` keywords; retries wait
10 ms doubling to 200 ms), ``fsize_limit`` (bytes any file may grow to),
``scout_interval`` (seconds between looks for dead processes' spools), ``tag`` and
``count``: it tracks ``count`` messages with messageIds ``<tag>-<n>``, then prints one
JSON line ``{"tracked": count, "dropped": [...reasons], "not_spooled": n}``. Then it
reads commands from stdin, one per line, answering each with a JSON line:

- ``flush``: ``flush()``, answers ``{"flushed": delivered, "dropped": [...]}``;
- ``track N``: N more messages (``<tag>-more-<n>``), answers ``{"tracked": N,
  "not_spooled": n}`` (``spool_failed`` signals so far);
- ``exit``: ``shutdown()`` and exit 0.

It stays until told or killed: the tests kill it with SIGKILL to play a crash.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from segment_web import Analytics, signals
from segment_web.delivery import transport
from segment_web.spool import disk_store as store


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if config.get("fsize_limit") is not None:
        import resource
        import signal

        # Files this process writes may not grow past the limit: the kernel refuses the
        # write (EFBIG), as a full disk would (ENOSPC).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = config["fsize_limit"]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    # Real retry code, shorter waits: a retried batch goes soon after the server is back.
    transport.BACKOFF_BASE = 0.01
    transport.BACKOFF_MAX = 0.2
    store.SCOUT_INTERVAL = config.get("scout_interval", store.SCOUT_INTERVAL)
    client = Analytics(
        config.get("write_key", "test-key"),
        host=config["url"],
        spool_dir=config["spool_dir"],
        **config["options"],
    )
    dropped: list[str] = []
    not_spooled: list[str] = []
    signals.message_dropped.connect(
        lambda sender, **kw: dropped.append(kw["reason"]), sender=client, weak=False
    )
    signals.spool_failed.connect(
        lambda sender, **kw: not_spooled.append(kw["message_id"]), sender=client, weak=False
    )

    def track(prefix: str, count: int) -> None:
        for n in range(count):
            client.track(user_id="u", event="Spooled", message_id=f"{prefix}-{n}")

    def answer(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    track(config["tag"], config["count"])
    answer(tracked=config["count"], dropped=dropped, not_spooled=len(not_spooled))
    for line in sys.stdin:
        command = line.split()
        if command[0] == "flush":
            answer(flushed=client.flush(timeout=60), dropped=dropped)
        elif command[0] == "track":
            track(f"{config['tag']}-more", int(command[1]))
            answer(tracked=int(command[1]), not_spooled=len(not_spooled))
        elif command[0] == "exit":
            client.shutdown(timeout=30)
            return


if __name__ == "__main__":
    main()
