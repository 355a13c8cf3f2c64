"""The collector's injected latency and failures, over real HTTP, and a real client riding
them out."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from segment_web import Analytics
from segment_web.collector import Collector

from .helpers import TIMEOUT, events, post, track


def answer_times(url: str, count: int) -> list[tuple[float, float, int]]:
    """``count`` POSTs sent at once, each on its own connection: (start, end, status)."""
    results: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    go = threading.Barrier(count)

    def send(number: int) -> None:
        go.wait(timeout=TIMEOUT)
        started = time.monotonic()
        status = post(url, "/v1/batch", {"batch": [track(event=f"E{number}")]}).status_code
        with lock:
            results.append((started, time.monotonic(), status))

    threads = [threading.Thread(target=send, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 2)
    assert len(results) == count
    return results


def test_latency_delays_each_answer_and_concurrent_requests_overlap(db_path: Path) -> None:
    latency = 1.0
    with Collector(db_path, latency_ms=latency * 1000) as collector:
        results = answer_times(collector.url, 6)
        assert [status for _, _, status in results] == [200] * 6
        assert all(end - start >= latency * 0.99 for start, end, _ in results)
        # Served one after another, the last answer would come 5 latencies after the
        # first; overlapping, they all come within one.
        ends = [end for _, end, _ in results]
        assert max(ends) - min(ends) < latency
        assert len(collector.events()) == 6
        # The JSON API is not delayed: a GET answers while a slow POST is in flight.
        slow = threading.Thread(target=post, args=(collector.url, "/v1/track", track()))
        slow.start()
        body = requests.get(collector.url + "/api/events", timeout=TIMEOUT).json()
        assert slow.is_alive()
        slow.join(timeout=TIMEOUT)
        assert body["faults"] == {
            "latency_ms": 1000.0,
            "fail_rate": 0.0,
            "status": None,
            "retry_after": None,
            "failed": 0,
        }


def statuses_with_seed(db_path: Path, seed: int) -> tuple[list[int], int, int]:
    with Collector(db_path, fail_rate=0.5, fail_seed=seed) as collector:
        collector.store.clear()
        statuses = [
            post(collector.url, "/v1/batch", {"batch": [track(event=f"E{n}"), track()]}).status_code
            for n in range(40)
        ]
        return statuses, len(collector.events(limit=1000)), collector.injected_failures


def test_a_fail_rate_fails_that_share_stores_none_of_them_and_repeats_with_a_seed(
    db_path: Path,
) -> None:
    statuses, stored, injected = statuses_with_seed(db_path, seed=7)
    assert set(statuses) == {200, 503}
    failed = statuses.count(503)
    assert 8 <= failed <= 32  # half of 40, give or take: a fraction, not all or none
    assert injected == failed
    assert stored == 2 * statuses.count(200)  # a failed batch is not stored
    assert statuses_with_seed(db_path, seed=7)[0] == statuses
    assert statuses_with_seed(db_path, seed=8)[0] != statuses


def test_a_fixed_status_fails_every_request_with_its_retry_after(db_path: Path) -> None:
    with Collector(db_path, fail_status=429, retry_after=2) as collector:
        for path, body in [("/v1/batch", {"batch": [track()]}), ("/v1/track", track())]:
            response = post(collector.url, path, body)
            assert response.status_code == 429
            assert response.headers["Retry-After"] == "2"
            assert response.json()["success"] is False
            assert "injected" in response.json()["message"]
        # Refusals stay refusals: a bad write key is a 401, not an injected failure.
        assert post(collector.url, "/v1/track", track(), key=None).status_code == 401
        body = requests.get(collector.url + "/api/events", timeout=TIMEOUT).json()
        assert (body["events"], body["total"]) == ([], 0)
        assert body["faults"]["failed"] == collector.injected_failures == 2
        assert (body["faults"]["status"], body["faults"]["retry_after"]) == (429, 2.0)


def test_without_faults_the_api_says_none(collector: Collector) -> None:
    assert requests.get(collector.url + "/api/events", timeout=TIMEOUT).json()["faults"] is None


def test_a_real_client_rides_out_a_slow_failing_api(db_path: Path) -> None:
    sent: list[str] = []
    with Collector(
        db_path, latency_ms=20, fail_rate=0.5, fail_seed=3, retry_after=0.02
    ) as collector:
        client = Analytics("key", host=collector.url, flush_at=5, max_retries=10, timeout=5)
        outcomes: list[Exception | None] = []
        for number in range(30):
            sent.append(
                client.track(
                    user_id="u1",
                    event=f"E{number}",
                    callback=lambda error, batch: outcomes.append(error),
                )
            )
        client.flush(timeout=TIMEOUT * 3)
        client.shutdown(timeout=5)
        stored = [event.message["messageId"] for event in collector.events(limit=1000)]
        assert collector.injected_failures > 0
    assert outcomes == [None] * 30
    assert sorted(stored) == sorted(sent)  # each exactly once


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"latency_ms": -1}, "latency_ms must be a number from 0 to 600000 ms, got -1"),
        ({"latency_ms": float("nan")}, "latency_ms must be a number"),
        ({"fail_rate": 1.5}, "fail_rate must be a number from 0 to 1, got 1.5"),
        ({"fail_rate": "0.2"}, "fail_rate must be a number"),
        ({"fail_status": 200}, "fail_status must be an HTTP error status from 400 to 599"),
        ({"fail_status": True}, "fail_status must be an HTTP error status"),
        ({"retry_after": -2, "fail_rate": 1}, "retry_after must be a number from 0 to 3600 s"),
        ({"retry_after": 1}, "retry_after goes with failures: set fail_rate or fail_status"),
        ({"fail_seed": 1.5}, "fail_seed must be an integer"),
    ],
)
def test_bad_fault_options_are_refused_by_name(
    db_path: Path, options: dict[str, Any], words: str
) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        Collector(db_path, **options)


def test_faults_shown_at_startup_and_applied(db_path: Path) -> None:
    # The command line passes them through: see test_cli for the subprocess.
    with Collector(db_path, fail_rate=1.0, fail_status=500) as collector:
        assert collector.faults.summary() == "fails every request with 500 (not stored)"
        assert post(collector.url, "/v1/track", track()).status_code == 500
        assert events(collector.url) == []
