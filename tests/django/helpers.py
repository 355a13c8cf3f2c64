from __future__ import annotations

from typing import Any

from segment_web.web.integration import Integration
from tests.support.recording_server import RecordingServer


def sent(integration: Integration, server: RecordingServer, count: int) -> list[dict[str, Any]]:
    """Exactly the ``count`` messages the integration delivered (everything is flushed)."""
    integration.client.flush(timeout=10)
    messages = server.wait_for(count)
    assert len(messages) == count, [(m["type"], m.get("event"), m.get("name")) for m in messages]
    return messages


ADA_TOKEN = "a" * 40  # ada's DRF token in tests/django/served_site.py
