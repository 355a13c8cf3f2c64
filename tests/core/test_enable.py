"""enable=False: calls validate and call back, nothing goes over the network."""

from __future__ import annotations

import pytest

from segment_web import ValidationError
from tests.support.client_helpers import Callbacks, MakeClient
from tests.support.recording_server import RecordingServer


def test_disabled_client_sends_nothing_but_calls_back(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(enable=False, flushed=False, flush_at=2)
    callback = Callbacks()
    for n in range(5):
        client.track(user_id="u", event=f"E{n}", callback=callback)
    client.identify(user_id="u", traits={"a": 1}, callback=callback)
    client.flush(timeout=10)
    # A callback fires only after its batch's POST is answered: had anything been sent,
    # the server would have it by now.
    assert callback.wait(6) == [None] * 6
    assert client.queued == 0
    assert server.arrived == 0


def test_disabled_client_still_validates(make_client: MakeClient) -> None:
    client = make_client(enable=False)
    with pytest.raises(ValidationError, match="event"):
        client.track(user_id="u")
    with pytest.raises(ValidationError, match=r"properties\.bad"):
        client.track(user_id="u", event="E", properties={"bad": object()})
