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
