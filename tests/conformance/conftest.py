from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.drivers import ADAPTERS, DRIVERS, Driver
from tests.support.recording_server import RecordingServer


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(
    request: pytest.FixtureRequest, server: RecordingServer, no_default_client: None
) -> Iterator[Driver]:
    """Each adapter's driver in turn (or, parametrized indirectly, any of ``DRIVERS``),
    sending to the recording server; closed after the test."""
    made = DRIVERS[request.param](server)
    yield made
    made.close()
