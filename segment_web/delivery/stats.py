"""One client's counters: what ``Analytics.stats()`` returns and the exporters read.

Fed from the few places that see every outcome: the reporter (delivered, dropped,
failed: per batch) and the transport's retry loop (attempts, retries, batch latency).
Each update is one short locked increment, so a snapshot is consistent within itself.
Accepted messages are the pipeline's own count, kept under the lock a call takes anyway:
counting them here would add a lock to every call (about 1 µs on a loaded host, where a
call takes 10-20 µs; CPython 3.11).
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger("segment_web")

# Upper bounds (seconds) of the batch latency histogram: a loopback POST to a batch that
# retried for minutes. The last bucket, past 60 s, is unbounded.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)

# Called with (stats, seconds, error type or None) when a batch's delivery ends, from the
# delivery thread: how the OpenTelemetry exporter records its duration histogram (an
# observable instrument cannot be a histogram).
batch_listeners: list[Callable[[DeliveryStats, float, str | None], None]] = []


KEY_PREFIX = 6  # characters of the write key that label a client's metrics


def key_label(write_key: str) -> str:
    """The first characters of a write key: at most 6, and at most half of a short key."""
    return write_key[: min(KEY_PREFIX, len(write_key) // 2)]


def reason_key(reason: str) -> str:
    """A drop reason without its details: ``"queue full (max_queue_size=5)"`` → ``"queue
    full"``, so counters stay a small set whatever the options."""
    return reason.split(" (", 1)[0].split(":", 1)[0]


@dataclass(frozen=True)
class Stats:
    """A snapshot of one client (``Analytics.stats()``); ``as_dict()`` for JSON.

    Counters count since the client started (in a forked child: since the fork);
    ``accepted`` includes messages taken over from the spool of a process that died.
    Times are UNIX timestamps. ``latency_counts[i]`` counts batches whose delivery (every
    attempt and the waits between) took at most ``latency_buckets[i]`` seconds and more
    than the bound before it; the last count is for those beyond the last bound.
    """

    accepted: int
    delivered: int
    dropped: dict[str, int]  # by reason
    failed: int  # messages in batches that finally failed
    failed_batches: int
    delivered_batches: int
    retried: int  # attempts that failed and were tried again
    batches_in_flight: int
    queue_depth: int
    queue_capacity: int
    spool_bytes: int | None  # None without a spool_dir
    spool_files: int | None
    last_success: float | None
    last_failure: float | None
    failing_since: float | None  # first failed attempt since the last success
    latency_buckets: tuple[float, ...]
    latency_counts: tuple[int, ...]
    latency_sum: float
    enabled: bool = True
    failures: dict[str, int] = field(default_factory=dict)  # failed messages by error type

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def failing_for(self, now: float | None = None) -> float:
        """Seconds delivery has failed without a success in between (0 when it is not)."""
        if self.failing_since is None:
            return 0.0
        return max((time.time() if now is None else now) - self.failing_since, 0.0)


class DeliveryStats:
    """The counters of one client, updated from any thread."""

    def __init__(self, label: str = "") -> None:
        self.label = label  # the write key's first characters (``key_label``)
        self._lock = threading.Lock()
        self._zero()

    def _zero(self) -> None:
        self._captured = 0
        self._delivered = 0
        self._delivered_batches = 0
        self._dropped: dict[str, int] = {}
        self._failed = 0
        self._failed_batches = 0
        self._failures: dict[str, int] = {}
        self._retried = 0
        self._last_success: float | None = None
        self._last_failure: float | None = None
        self._failing_since: float | None = None
        self._latency = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0

    def captured(self) -> None:
        """A message a test capture took (``segment_web.testing``) in place of the store."""
        with self._lock:
            self._captured += 1

    def delivered(self, count: int) -> None:
        with self._lock:
            self._delivered += count
            self._delivered_batches += 1

    def dropped(self, count: int, reason: str) -> None:
        key = reason_key(reason)
        with self._lock:
            self._dropped[key] = self._dropped.get(key, 0) + count

    def failed(self, count: int, error_type: str) -> None:
        with self._lock:
            self._failed += count
            self._failed_batches += 1
            self._failures[error_type] = self._failures.get(error_type, 0) + count

    def attempt(self, ok: bool, *, retrying: bool = False) -> None:
        """One POST's outcome; ``retrying``: it failed and will be tried again."""
        now = time.time()
        with self._lock:
            if ok:
                self._last_success = now
                self._failing_since = None
            else:
                self._last_failure = now
                if self._failing_since is None:
                    self._failing_since = now
                if retrying:
                    self._retried += 1

    def batch_done(self, seconds: float, error_type: str | None) -> None:
        """A batch's delivery ended after ``seconds`` (retries included)."""
        with self._lock:
            self._latency[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._latency_sum += seconds
        for listener in list(batch_listeners):
            try:
                listener(self, seconds, error_type)
            except Exception:
                logger.exception("segment_web: a metrics listener raised")

    def snapshot(
        self,
        *,
        stored: Callable[[], int],
        queue_depth: int,
        queue_capacity: int,
        batches_in_flight: int,
        spool_dir: str | None = None,
        enabled: bool = True,
    ) -> Stats:
        spool_bytes = spool_files = None
        if spool_dir is not None:
            spool_bytes, spool_files = _disk_usage(spool_dir)
        with self._lock:
            return Stats(
                accepted=self._captured + stored(),
                delivered=self._delivered,
                dropped=dict(self._dropped),
                failed=self._failed,
                failed_batches=self._failed_batches,
                delivered_batches=self._delivered_batches,
                retried=self._retried,
                batches_in_flight=batches_in_flight,
                queue_depth=queue_depth,
                queue_capacity=queue_capacity,
                spool_bytes=spool_bytes,
                spool_files=spool_files,
                last_success=self._last_success,
                last_failure=self._last_failure,
                failing_since=self._failing_since,
                latency_buckets=LATENCY_BUCKETS,
                latency_counts=tuple(self._latency),
                latency_sum=self._latency_sum,
                enabled=enabled,
                failures=dict(self._failures),
            )

    def reset_after_fork(self) -> None:
        """A forked child counts its own messages, with a lock no parent thread holds."""
        self._lock = threading.Lock()
        self._zero()


def _disk_usage(directory: str) -> tuple[int, int]:
    """Bytes and number of the files in a spool directory (files vanish as we look)."""
    size = files = 0
    for entry in _files(directory):
        try:
            size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        files += 1
    return size, files


def _files(directory: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            yield from (e for e in entries if e.is_file(follow_symlinks=False))
    except OSError:
        return


def error_type(status: int | None) -> str:
    """The ``error.type`` of a failed batch: its final HTTP status, or the kind of failure."""
    return str(status) if status is not None else "network"
