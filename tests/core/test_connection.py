"""The connection batches go on: one kept-alive connection of the client's own, made
again when the server closed it; through ``requests`` when the environment names a
proxy, with the same headers and retries (the deadline on both routes: test_deadline)."""

from __future__ import annotations

import pytest

from segment_web.http_connection import DirectRoute, SessionRoute
from tests.core.helpers import PROXIED_HOST, PROXY_VARIABLES, MakeClient
from tests.support.recording_server import RecordingServer, Reply


@pytest.mark.usefixtures("no_proxy")
def test_batches_share_one_kept_alive_connection(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    for event in ("A", "B", "C"):
        client.track(user_id="u", event=event)
        assert client.flush(timeout=10) == 1
    assert isinstance(client._transport._route, DirectRoute)
    assert len({request.peer for request in server.requests}) == 1


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize(
    "reply",
    [Reply(hang_up=True), Reply(headers={"Connection": "close"})],
    ids=["closed-while-idle", "connection-close"],
)
def test_a_connection_the_server_closed_is_made_again_without_a_failed_attempt(
    make_client: MakeClient, server: RecordingServer, reply: Reply
) -> None:
    server.reply(reply)
    client = make_client()
    client.track(user_id="u", event="A")
    assert client.flush(timeout=10) == 1
    if reply.hang_up:
        server.wait_hung_up(1)
    client.track(user_id="u", event="B")
    assert client.flush(timeout=10) == 1
    first, second = server.requests
    assert (first.status, second.status) == (200, 200)
    assert "X-Retry-Count" not in second.headers
    assert first.peer != second.peer


@pytest.mark.usefixtures("server_as_proxy")
def test_with_a_proxy_in_the_environment_batches_go_through_it(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(host=PROXIED_HOST)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    assert isinstance(client._transport._route, SessionRoute)
    # A request to a proxy names the whole URL in its request line.
    assert [r.path for r in server.requests] == [f"{PROXIED_HOST}/v1/batch"]
    assert [m["event"] for m in server.messages] == ["E"]


SENT_HEADERS = ("Authorization", "Content-Type", "User-Agent", "Content-Encoding", "X-Retry-Count")


def test_both_routes_send_the_same_headers(
    make_client: MakeClient, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = []
    for proxied in (False, True):
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        if proxied:
            monkeypatch.setenv("http_proxy", server.url)
        server.reply(Reply(status=503))
        client = make_client(host=PROXIED_HOST if proxied else server.url, gzip=True)
        client.track(user_id="u", event="E")
        assert client.flush(timeout=10) == 1
        sent.append([{n: r.headers.get(n) for n in SENT_HEADERS} for r in server.requests[-2:]])
        # Host and Content-Length are as the URL and body make them
        first, retry = server.requests[-2:]
        assert (
            first.headers["Host"]
            == retry.headers["Host"]
            == ("segment.invalid" if proxied else f"127.0.0.1:{server.port}")
        )
        assert int(retry.headers["Content-Length"]) == len(retry.raw)
    direct, proxied_ones = sent
    assert direct == proxied_ones
    assert [headers["X-Retry-Count"] for headers in direct] == [None, "1"]
    assert direct[0]["Content-Encoding"] == "gzip"


@pytest.mark.usefixtures("server_as_proxy")
def test_through_a_proxy_retry_after_is_honoured(
    make_client: MakeClient, server: RecordingServer
) -> None:
    server.reply(Reply(status=429, headers={"Retry-After": "0"}), Reply(status=500))
    client = make_client(host=PROXIED_HOST, max_retries=1)
    client.track(user_id="u", event="E")
    assert client.flush(timeout=10) == 1
    # The Retry-After wait does not use up the one retry; the 500 does.
    assert [r.headers.get("X-Retry-Count") for r in server.requests] == [None, "1", "2"]
