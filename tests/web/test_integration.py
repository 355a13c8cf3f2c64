"""An adapter's client becomes the module-level default, as an explicit step, unless one
was configured."""

from __future__ import annotations

import pytest

import segment_web
from segment_web.testing import capture_events
from segment_web.web.integration import Integration
from segment_web.web.settings import parse_settings

pytestmark = pytest.mark.usefixtures("no_default_client")


def adopted(write_key: str) -> Integration:
    integration = Integration(parse_settings({"write_key": write_key, "enable": False})[0])
    integration.adopt_as_default()
    return integration


def test_building_an_integration_changes_no_default() -> None:
    integration = Integration(parse_settings({"write_key": "a", "enable": False})[0])
    assert segment_web.default_client() is None
    assert integration.adopt_as_default() is True
    assert segment_web.default_client() is integration.client
    integration.client.shutdown()


def test_first_integration_client_serves_module_level_calls_outside_requests() -> None:
    first = adopted("a")
    second = adopted("b")
    assert segment_web.default_client() is first.client
    with capture_events() as events:
        segment_web.track(user_id="u", event="From a task")
    assert events.clients == [first.client]
    first.client.shutdown()
    third = adopted("c")
    assert segment_web.default_client() is third.client  # a closed default is replaced
    second.client.shutdown()
    third.client.shutdown()


def test_configured_client_is_kept() -> None:
    configured = segment_web.configure("k", enable=False)
    integration = adopted("a")
    assert segment_web.default_client() is configured
    configured.shutdown()
    integration.client.shutdown()
