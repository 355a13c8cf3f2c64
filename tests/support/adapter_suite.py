"""The fixture behind every shared adapter suite (tests/privacy, tests/identity,
tests/tenants): one scenario, run once per adapter driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tests.support.recording_server import RecordingServer


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
