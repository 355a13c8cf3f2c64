"""``timeout`` bounds a whole POST: a destination that trickles its answer a byte at a
time is cut off at the deadline and the batch is retried, as after any timeout."""

from __future__ import annotations

import pytest

from tests.support.client_helpers import PROXIED_HOST, MakeClient
from tests.support.recording_server import RecordingServer, Reply


@pytest.mark.parametrize("route", ["direct", "through a proxy"])
@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_trickled_answer_ends_the_attempt_at_the_deadline_and_the_batch_is_retried(
    make_client: MakeClient,
    server: RecordingServer,
    part: str,
    route: str,
    request: pytest.FixtureRequest,
) -> None:
    # Both routes a POST can take (our own connection, or requests with a proxy).
    proxied = route == "through a proxy"
    request.getfixturevalue("server_as_proxy" if proxied else "no_proxy")
    # Long enough that the retry, answered at once, ends well inside it even on a
    # machine loaded past its cores (at 0.5 s a slow retry also timed out, and the
    # batch was sent a third time); the trickle outlasts it either way.
    timeout = 2.0
    server.reply(Reply(trickle=part))
    host = {"host": PROXIED_HOST} if proxied else {}
    client = make_client(timeout=timeout, max_retries=2, **host)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=20) == 1
    assert len(server.messages) == 1
    first, retry = server.requests
    assert (first.headers.get("X-Retry-Count"), retry.headers.get("X-Retry-Count")) == (None, "1")
    assert timeout * 0.9 <= retry.sent_at - first.sent_at < timeout + 5.0
    # The client hung up: the server's next byte failed soon after the deadline.
    (ended,) = server.wait_trickles_ended(1)
    assert ended - first.at < timeout + 5.0
