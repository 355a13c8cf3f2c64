from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.recording_server import RecordingServer


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    """A local tracking-API stand-in on 127.0.0.1 (see tests/support/recording_server.py)."""
    recording = RecordingServer()
    yield recording
    recording.close()


@pytest.fixture
def no_default_client() -> Iterator[None]:
    """No module-level default client during the test; the one before comes back after."""
    from segment_web.testing import default_client_set_to

    with default_client_set_to(None):
        yield
