"""segment_web.configure() and the module-level calls."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

import segment_web
from segment_web import Analytics, ClientClosedError
from tests.support.recording_server import RecordingServer


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No default client during the test; whatever the test configures is shut down."""
    # the package exports a function named like this module, hence import_module
    module = importlib.import_module("segment_web.api")
    monkeypatch.setattr(module, "_default", None)
    yield
    client = segment_web.default_client()
    if client is not None:
        client.shutdown(timeout=2)


def test_configure_then_module_calls(unconfigured: None, server: RecordingServer) -> None:
    client = segment_web.configure(write_key="module-key", host=server.url, flush_at=100)
    assert isinstance(client, Analytics)
    assert segment_web.default_client() is client
    assert segment_web.current() is client
    client.flushed = True  # so all seven wait for the flush below
    segment_web.identify(user_id="u", traits={"name": "Ada"})
    segment_web.track({"userId": "u", "event": "Mapped"})
    segment_web.track(user_id="u", event="Keywords")
    segment_web.page(user_id="u", name="Home")
    segment_web.screen(user_id="u", name="Main")
    segment_web.group(user_id="u", group_id="g")
    segment_web.alias(previous_id="anon", user_id="u")
    assert segment_web.flush(timeout=10) == 7
    types = [m["type"] for m in server.messages]
    assert types == ["identify", "track", "track", "page", "screen", "group", "alias"]
    assert {r.body["writeKey"] for r in server.requests} == {"module-key"}


def test_configure_again_replaces_and_shuts_down_the_previous(
    unconfigured: None, server: RecordingServer
) -> None:
    first = segment_web.configure("first", host=server.url, flush_at=100)
    segment_web.track(user_id="u", event="To First")
    second = segment_web.configure("second", host=server.url, flush_at=100)
    assert segment_web.current() is second
    assert [r.body["writeKey"] for r in server.requests] == ["first"]  # flushed on replace
    with pytest.raises(ClientClosedError):
        first.track(user_id="u", event="Late")


def test_current_without_configure_says_what_to_do(unconfigured: None) -> None:
    with pytest.raises(RuntimeError, match="configure"):
        segment_web.current()
    with pytest.raises(RuntimeError, match="configure"):
        segment_web.track(user_id="u", event="E")
    assert segment_web.flush() == 0


def test_configure_validates_like_the_constructor(unconfigured: None) -> None:
    with pytest.raises(ValueError, match="write_key"):
        segment_web.configure()
    with pytest.raises(ValueError, match="flush_at"):
        segment_web.configure("k", flush_at="many")
    assert segment_web.default_client() is None
