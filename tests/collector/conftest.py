from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from segment_web import Analytics
from segment_web.collector import Collector


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite3"


@pytest.fixture
def collector(db_path: Path) -> Iterator[Collector]:
    """A running collector on a free port of 127.0.0.1, accepting any write key."""
    with Collector(db_path) as running:
        yield running


@pytest.fixture
def make_client(collector: Collector) -> Iterator[Callable[..., Analytics]]:
    """Real ``Analytics`` clients sending to ``collector`` at once; shut down afterwards."""
    clients: list[Analytics] = []

    def make(write_key: str = "key", **options: Any) -> Analytics:
        # one batch at a time: the tests read messages in call order
        options = {"flush_at": 1, "max_in_flight": 1, "max_retries": 0, "timeout": 5.0, **options}
        client = Analytics(write_key, host=collector.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.error_handler = lambda error: None  # failures were asserted by the test
        client.shutdown(timeout=5)
