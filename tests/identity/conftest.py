from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.identity.drivers import ADAPTERS, Adapter
from tests.support.recording_server import RecordingServer


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(
    request: pytest.FixtureRequest, server: RecordingServer, no_default_client: None
) -> Iterator[Adapter]:
    """Each adapter (and ASGI framework) in turn, sending to the recording server."""
    made = ADAPTERS[request.param](server)
    yield made
    made.close()
