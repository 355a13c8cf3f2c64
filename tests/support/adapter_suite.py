"""The fixture behind every shared adapter suite (tests/privacy, tests/identity,
tests/tenants): one scenario, run once per adapter driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from segment_web import Analytics
from tests.support.recording_server import RecordingServer


class Driver:
    """What every suite's adapter driver shares: the recording server it sends to, the
    client ``start()`` set up, the messages it delivered, and its shutdown."""

    def __init__(self, server: RecordingServer) -> None:
        self.server = server
        self.client: Analytics | None = None

    def sent(self, count: int) -> list[dict[str, Any]]:
        """Exactly the ``count`` messages delivered (the client flushed first)."""
        assert self.client is not None
        self.client.flush(timeout=10)
        messages = self.server.wait_for(count)
        assert len(messages) == count, [(m["type"], m.get("event")) for m in messages]
        return messages

    def close(self) -> None:
        if self.client is not None:
            self.client.shutdown(timeout=5)


def adapter_fixture(drivers: Mapping[str, Callable[[RecordingServer], Any]]) -> Any:
    """A fixture ``adapter``: each driver of ``drivers`` (name -> a factory of a driver
    sending to the recording server) in turn, closed after the test."""

    @pytest.fixture(params=sorted(drivers))
    def adapter(
        request: pytest.FixtureRequest, server: RecordingServer, no_default_client: None
    ) -> Iterator[Any]:
        made = drivers[request.param](server)
        yield made
        made.close()

    return adapter
