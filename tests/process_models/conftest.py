from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.process_models.servers import ChildProcess, free_port
from tests.support.recording_server import RecordingServer

ServeSite = Callable[..., tuple[ChildProcess, str]]


@pytest.fixture
def serve_site(server: RecordingServer) -> Iterator[ServeSite]:
    """Start a real server on the Django test site (tests/process_models/django_site.py):
    ``serve_site(lambda port: [command...], **environment)`` returns the running process
    and its base URL once the site answers; every server is killed after the test."""
    started: list[ChildProcess] = []

    def start(command: Callable[[int], list[str]], **env: str) -> tuple[ChildProcess, str]:
        port = free_port()
        child = ChildProcess(command(port), {"SEGMENT_TEST_HOST": server.url, **env})
        started.append(child)
        base = f"http://127.0.0.1:{port}"
        child.wait_http(f"{base}/track?n=0")
        return child, base

    yield start
    for child in started:
        child.close()
