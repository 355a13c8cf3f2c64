"""Injected latency and failures: rehearse a slow or failing tracking API locally.

``Faults`` applies to the tracking endpoints (``POST /v1/batch`` and ``/v1/{type}``)
only; the page and the JSON API answer at once. A request that would be accepted is
answered after ``latency_ms`` (an ``asyncio.sleep``, so concurrent requests overlap
rather than queue), and a fraction ``fail_rate`` of them is answered ``fail_status``
(503 unless set) with an optional ``Retry-After`` instead of being stored: the client
will send that batch again. A request the collector refuses (bad auth, bad JSON) is
refused at once, as before.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_FAILURE_STATUS = 503
MAX_LATENCY_MS = 600_000.0  # ten minutes: longer is a typo, not a rehearsal
MAX_RETRY_AFTER = 3600.0


@dataclass
class Faults:
    """What the collector injects into its answers to tracking requests.

    ``latency_ms``: milliseconds before each answer (0: none). ``fail_rate``: the
    fraction of requests, 0 to 1, answered ``fail_status`` and not stored. ``fail_status``:
    the status of a failure, 400 to 599 (503 by default); given without ``fail_rate``, every
    request fails. ``retry_after``: seconds sent in a ``Retry-After`` header with each
    failure (None: no header). ``fail_seed``: makes which requests fail repeatable.
    """

    latency_ms: float = 0.0
    fail_rate: float | None = None
    fail_status: int | None = None
    retry_after: float | None = None
    fail_seed: int | None = None
    failed: int = field(default=0, init=False)  # requests failed on purpose so far
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.latency_ms = _number("latency_ms", self.latency_ms, 0.0, MAX_LATENCY_MS, "ms")
        if self.fail_rate is not None:
            self.fail_rate = _number("fail_rate", self.fail_rate, 0.0, 1.0, "")
        if self.fail_status is not None and (
            isinstance(self.fail_status, bool)
            or not isinstance(self.fail_status, int)
            or not 400 <= self.fail_status <= 599
        ):
            raise ValueError(
                "fail_status must be an HTTP error status from 400 to 599, "
                f"got {self.fail_status!r}"
            )
        if self.retry_after is not None:
            self.retry_after = _number("retry_after", self.retry_after, 0.0, MAX_RETRY_AFTER, "s")
            if self.rate == 0:
                raise ValueError(
                    "retry_after goes with failures: set fail_rate or fail_status as well"
                )
        if self.fail_seed is not None and (
            isinstance(self.fail_seed, bool) or not isinstance(self.fail_seed, int)
        ):
            raise ValueError(f"fail_seed must be an integer, got {self.fail_seed!r}")
        self._random = random.Random(self.fail_seed)

    @property
    def rate(self) -> float:
        """The fraction of requests that fail: ``fail_rate``, or 1 with only ``fail_status`` set."""
        if self.fail_rate is not None:
            return self.fail_rate
        return 1.0 if self.fail_status is not None else 0.0

    @property
    def failure_status(self) -> int:
        return self.fail_status if self.fail_status is not None else DEFAULT_FAILURE_STATUS

    def active(self) -> bool:
        return self.latency_ms > 0 or self.rate > 0

    async def delay(self) -> None:
        """Wait out the latency without holding up the event loop."""
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)

    def should_fail(self) -> bool:
        """Whether this request fails on purpose (counted in ``failed`` when it does)."""
        rate = self.rate
        if rate <= 0:
            return False
        with self._lock:
            fail = rate >= 1 or self._random.random() < rate
            if fail:
                self.failed += 1
        return fail

    def failure_headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": _seconds_text(self.retry_after)}

    def describe(self) -> dict[str, Any]:
        """The settings and the count of failed requests, as ``GET /api/events`` shows them."""
        return {
            "latency_ms": self.latency_ms,
            "fail_rate": self.rate,
            "status": self.failure_status if self.rate > 0 else None,
            "retry_after": self.retry_after,
            "failed": self.failed,
        }

    def summary(self) -> str:
        """One line for the collector's startup text."""
        parts = []
        if self.latency_ms > 0:
            parts.append(f"answers after {_seconds_text(self.latency_ms)} ms")
        if self.rate > 0:
            share = "every request" if self.rate >= 1 else f"{self.rate:.0%} of requests"
            failure = f"fails {share} with {self.failure_status}"
            if self.retry_after is not None:
                failure += f" and Retry-After: {_seconds_text(self.retry_after)}"
            parts.append(failure + " (not stored)")
        return "; ".join(parts) or "none"


def _number(name: str, value: object, low: float, high: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        bounds = f"from {_seconds_text(low)} to {_seconds_text(high)}{' ' + unit if unit else ''}"
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}")
    return float(value)


def _seconds_text(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
