"""The connection batches go on: one kept-alive connection of the client's own (HTTPS
verified against the CA bundle requests would use), made again when the server closed
it; through ``requests`` when the environment names a proxy, with the same headers and
retries (the deadline on both routes: test_deadline)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from segment_web import DeliveryError
from segment_web.delivery.routes import DirectRoute, SessionRoute
from tests.support.client_helpers import PROXIED_HOST, PROXY_VARIABLES, MakeClient
from tests.support.recording_server import RecordingServer, Reply


@pytest.mark.usefixtures("no_proxy")
def test_batches_share_one_kept_alive_connection(
    make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client()
    for event in ("A", "B", "C"):
        client.track(user_id="u", event=event)
        assert client.flush(timeout=10) == 1
    routes = client._transport.routes
    assert routes and all(isinstance(route, DirectRoute) for route in routes)
    assert len({request.peer for request in server.requests}) == 1


@pytest.mark.usefixtures("no_proxy")
def test_shutdown_closes_the_connection(make_client: MakeClient, server: RecordingServer) -> None:
    client = make_client()
    client.track(user_id="u", event="A")
    assert client.flush(timeout=10) == 1
    assert server.connections_ended == 0  # kept alive between batches
    client.shutdown(timeout=10)
    server.wait_connections_ended(1, timeout=10)


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
    routes = client._transport.routes
    assert routes and all(isinstance(route, SessionRoute) for route in routes)
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


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(authority: trustme.CA) -> Iterator[RecordingServer]:
    """The recording server over HTTPS, its certificate for 127.0.0.1 from ``authority``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = RecordingServer(tls=context)
    yield server
    server.close()


@pytest.mark.usefixtures("no_proxy")
def test_https_batches_share_one_verified_kept_alive_connection(
    make_client: MakeClient,
    tls_server: RecordingServer,
    authority: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # as requests reads it
    client = make_client(host=tls_server.url)
    for event in ("A", "B", "C"):
        client.track(user_id="u", event=event)
        assert client.flush(timeout=10) == 1
    routes = client._transport.routes
    assert routes and all(isinstance(route, DirectRoute) for route in routes)
    assert [r.body["batch"][0]["event"] for r in tls_server.requests] == ["A", "B", "C"]
    assert len({request.peer for request in tls_server.requests}) == 1


@pytest.mark.usefixtures("no_proxy")
def test_https_to_a_server_the_ca_bundle_does_not_trust_fails_and_sends_nothing(
    make_client: MakeClient, tls_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)  # requests' own bundle (certifi)
    client = make_client(host=tls_server.url, max_retries=0)
    client.track(user_id="u", event="A")
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        client.flush(timeout=10)
    routes = client._transport.routes
    assert routes and all(isinstance(route, DirectRoute) for route in routes)
    assert tls_server.requests == []
