"""The HTTP options (proxies, verify, cert, headers, transport) through each route
against the local servers: a forward proxy for ``proxies``, a test CA for TLS."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from segment_web import Analytics, DeliveryError
from segment_web.delivery.routes import CustomRoute, DirectRoute, SessionRoute
from tests.support.client_helpers import MakeClient, only_route
from tests.support.proxy import ForwardProxy
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    forward = ForwardProxy()
    yield forward
    forward.close()


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundle(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def tls(authority: trustme.CA, *, client_certs: bool = False) -> RecordingServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    if client_certs:
        authority.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return RecordingServer(tls=context)


@pytest.fixture
def tls_server(authority: trustme.CA) -> Iterator[RecordingServer]:
    server = tls(authority)
    yield server
    server.close()


def send_one(client: Analytics, event: str = "E") -> int:
    client.track(user_id="u", event=event)
    return client.flush(timeout=10)


def test_proxies_for_http(
    make_client: MakeClient, server: RecordingServer, proxy: ForwardProxy
) -> None:
    client = make_client(proxies={"http": proxy.url})
    assert send_one(client) == 1
    assert isinstance(only_route(client), SessionRoute)
    assert proxy.forwarded == [f"{server.url}/v1/batch"]
    assert [m["event"] for m in server.messages] == ["E"]


def test_proxies_for_https_tunnel_and_verify_with_a_bundle(
    make_client: MakeClient, tls_server: RecordingServer, proxy: ForwardProxy, bundle: str
) -> None:
    client = make_client(host=tls_server.url, proxies={"https": proxy.url}, verify=bundle)
    assert send_one(client) == 1
    assert isinstance(only_route(client), SessionRoute)
    assert proxy.tunnels == [tls_server.url.removeprefix("https://")]
    assert [m["event"] for m in tls_server.messages] == ["E"]


def test_verify_with_a_bundle_on_the_direct_route(
    make_client: MakeClient, tls_server: RecordingServer, bundle: str
) -> None:
    client = make_client(host=tls_server.url, verify=bundle)
    assert send_one(client, "A") == 1
    assert send_one(client, "B") == 1
    assert isinstance(only_route(client), DirectRoute)
    assert len({r.peer for r in tls_server.requests}) == 1  # still one kept-alive connection


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_accepts_an_untrusted_server(
    make_client: MakeClient, tls_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    refused = make_client(host=tls_server.url, max_retries=0)
    refused.track(user_id="u", event="E")
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        refused.flush(timeout=10)
    trusting = make_client(host=tls_server.url, verify=False)
    assert send_one(trusting) == 1
    assert isinstance(only_route(trusting), SessionRoute)


def test_cert_for_a_server_that_requires_one(
    make_client: MakeClient, authority: trustme.CA, bundle: str, tmp_path: Path
) -> None:
    server = tls(authority, client_certs=True)
    try:
        mine = tmp_path / "client.pem"
        authority.issue_cert("client@example").private_key_and_cert_chain_pem.write_to_path(
            str(mine)
        )
        anonymous = make_client(host=server.url, verify=bundle, max_retries=0)
        anonymous.track(user_id="u", event="E")
        with pytest.raises(DeliveryError, match="network error"):
            anonymous.flush(timeout=10)
        client = make_client(host=server.url, verify=bundle, cert=str(mine))
        assert send_one(client) == 1
        assert isinstance(only_route(client), SessionRoute)
        assert [m["event"] for m in server.messages] == ["E"]
    finally:
        server.close()


@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "session"])
def test_headers_on_both_routes(
    make_client: MakeClient, server: RecordingServer, proxy: ForwardProxy, through_proxy: bool
) -> None:
    options: dict[str, Any] = {"headers": {"X-Tenant": "shop-7"}}
    if through_proxy:
        options["proxies"] = {"http": proxy.url}
    client = make_client(**options)
    assert send_one(client) == 1
    route = SessionRoute if through_proxy else DirectRoute
    assert isinstance(only_route(client), route)
    (request,) = server.requests
    assert request.headers["X-Tenant"] == "shop-7"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["User-Agent"].startswith("segment-web/")


class RequestsTransport:
    """An application's own HTTP stack, here requests used directly."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.calls = 0
        self.fail_next = 0
        self.closed = threading.Event()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        self.calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the custom stack failed")
        response = self.session.post(url, data=body, headers=dict(headers), timeout=timeout)
        return response.status_code, response.headers, response.content

    def close(self) -> None:
        self.session.close()
        self.closed.set()


def test_transport_object(make_client: MakeClient, server: RecordingServer) -> None:
    transport = RequestsTransport()
    transport.fail_next = 1  # what it raises is a network error: retried
    client = make_client(transport=transport, headers={"X-Tenant": "t"})
    assert send_one(client) == 1
    assert isinstance(only_route(client), CustomRoute)
    assert transport.calls == 2 and client.stats().retried == 1
    (request,) = server.requests
    assert request.headers["X-Retry-Count"] == "1" and request.headers["X-Tenant"] == "t"
    assert request.body["batch"][0]["event"] == "E"
    client.shutdown()
    assert transport.closed.is_set()


def test_transport_callable_sees_status(make_client: MakeClient) -> None:
    seen: list[str] = []

    def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Any:
        seen.append(url)
        return 400, {"content-type": "text/plain"}, b"bad batch"

    client = make_client(transport=post, max_retries=3)
    client.track(user_id="u", event="E")
    with pytest.raises(DeliveryError, match="HTTP 400: bad batch"):
        client.flush(timeout=10)
    assert seen == [client.endpoint]  # a 400 is final: not retried


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("proxies", "http://proxy"),
        ("verify", 3),
        ("cert", ("a",)),
        ("headers", {"X-A": 1}),
        ("headers", {"authorization": "Bearer x"}),
        ("headers", {"User-Agent": "mine/1"}),
        ("transport", object()),
    ],
)
def test_bad_http_options_name_themselves(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{option} "):
        Analytics("k", **{option: value})
