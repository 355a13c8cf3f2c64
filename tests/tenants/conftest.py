from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.recording_server import RecordingServer
from tests.tenants.drivers import ADAPTERS, Adapter


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(
    request: pytest.FixtureRequest, server: RecordingServer, no_default_client: None
) -> Iterator[Adapter]:
    """Each adapter in turn, its write key chosen per request, sending to the server."""
    made = ADAPTERS[request.param](server)
    yield made
    made.close()
