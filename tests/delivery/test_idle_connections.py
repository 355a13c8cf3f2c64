"""Kept-alive connections and servers that close them: recycled before a load
balancer's idle timeout, and a POST that finds its connection closed as it goes out is
sent again at once, without counting as a failed attempt."""

from __future__ import annotations

import pytest

from segment_web import DeliveryError
from segment_web.delivery import routes
from segment_web.delivery.routes import DirectRoute
from tests.support.client_helpers import MakeClient, only_route
from tests.support.recording_server import RecordingServer, Reply

pytestmark = pytest.mark.usefixtures("no_proxy")


def test_a_connection_closed_as_the_request_went_is_resent_at_once(
    make_client: MakeClient, server: RecordingServer
) -> None:
    # The second request arrives on the kept-alive connection and the server drops it
    # unanswered, as a server whose idle timeout just ran out does.
    server.reply(Reply(), Reply(drop=True))
    client = make_client(max_retries=0)
    client.track(user_id="u", event="A")
    assert client.flush(timeout=10) == 1
    client.track(user_id="u", event="B")
    assert client.flush(timeout=10) == 1  # max_retries=0: only the resend could deliver it
    assert isinstance(only_route(client), DirectRoute)
    first, dropped, resent = server.requests
    assert dropped.peer == first.peer and resent.peer != first.peer
    assert [r.status for r in server.requests] == [200, 0, 200]
    assert "X-Retry-Count" not in resent.headers
    assert client.stats().retried == 0 and client.stats().failed_batches == 0


def test_a_new_connection_dropped_is_a_failed_attempt(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(drop=True))
    client = make_client(max_retries=0)
    client.track(user_id="u", event="A")
    with pytest.raises(DeliveryError, match="network error"):
        client.flush(timeout=10)
    assert len(server.requests) == 1  # not sent again: the server may be refusing it


def test_an_idle_connection_is_replaced(
    make_client: MakeClient, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    client.track(user_id="u", event="A")
    assert client.flush(timeout=10) == 1
    client.track(user_id="u", event="B")
    assert client.flush(timeout=10) == 1
    assert server.requests[0].peer == server.requests[1].peer  # kept alive while fresh
    monkeypatch.setattr(routes, "IDLE_RECYCLE", 0.0)  # every connection now counts as idle
    client.track(user_id="u", event="C")
    assert client.flush(timeout=10) == 1
    server.wait_connections_ended(1)
    assert server.requests[2].peer != server.requests[1].peer
    assert "X-Retry-Count" not in server.requests[2].headers
