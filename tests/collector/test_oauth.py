"""OAuth 2.0 end to end: the client's signed-assertion flow against the collector's
OAuth mode (token endpoint + bearer-only tracking API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from segment_web import Analytics, DeliveryError
from segment_web.collector import Collector
from segment_web.collector.oauth import OAuthMode
from tests.collector.helpers import events


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE, PUBLIC = key_pair()


@pytest.fixture
def oauth_collector(db_path: Path) -> Iterator[Collector]:
    mode = OAuthMode(PUBLIC, client_id="app-1", key_id="key-1")
    with Collector(db_path, oauth=mode) as running:
        yield running


@pytest.fixture
def clients() -> Iterator[list[Analytics]]:
    made: list[Analytics] = []
    yield made
    for client in made:
        client.error_handler = lambda error: None
        client.shutdown(timeout=5)


def oauth_client(
    collector: Collector, clients: list[Analytics], key: str = PRIVATE, **options: Any
) -> Analytics:
    options = {"flush_at": 1, "max_retries": 0, **options}
    client = Analytics(
        "write-key",
        host=collector.url,
        oauth_client_id="app-1",
        oauth_client_key=key,
        oauth_key_id="key-1",
        oauth_auth_server=collector.url,
        **options,
    )
    clients.append(client)
    return client


def mode_of(collector: Collector) -> OAuthMode:
    assert collector.oauth is not None
    return collector.oauth


def test_batches_go_with_one_token(oauth_collector: Collector, clients: list[Analytics]) -> None:
    client = oauth_client(oauth_collector, clients)
    for name in ("A", "B", "C"):
        client.track(user_id="u", event=name)
        client.flush()
    assert sorted(e["event_or_name"] for e in events(oauth_collector.url)) == ["A", "B", "C"]
    assert mode_of(oauth_collector).issued == 1  # fetched once, then reused
    assert {e["write_key"] for e in events(oauth_collector.url)} == {"oauth:app-1"}
    assert client.stats().failed_batches == 0


def test_an_expired_token_is_renewed_once_without_a_failure(
    oauth_collector: Collector, clients: list[Analytics]
) -> None:
    client = oauth_client(oauth_collector, clients)
    client.track(user_id="u", event="Before")
    client.flush()
    mode_of(oauth_collector).expire_tokens()
    client.track(user_id="u", event="After")
    assert client.flush() == 1  # max_retries=0: only the renewal after 401 could send it
    assert mode_of(oauth_collector).issued == 2
    assert sorted(e["event_or_name"] for e in events(oauth_collector.url)) == ["After", "Before"]


def test_without_a_token_the_collector_refuses(
    oauth_collector: Collector, clients: list[Analytics]
) -> None:
    client = Analytics("write-key", host=oauth_collector.url, flush_at=1, max_retries=0)
    clients.append(client)
    client.track(user_id="u", event="E")
    with pytest.raises(DeliveryError, match="HTTP 401"):
        client.flush()
    assert events(oauth_collector.url) == []


def test_a_key_the_server_does_not_know_fails_the_batch(
    oauth_collector: Collector, clients: list[Analytics]
) -> None:
    other, _ = key_pair()
    client = oauth_client(oauth_collector, clients, key=other, max_retries=3)
    client.track(user_id="u", event="E")
    with pytest.raises(DeliveryError, match="OAuth token request refused"):
        client.flush()
    assert mode_of(oauth_collector).issued == 0
    assert events(oauth_collector.url) == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"oauth_client_id": "a"}, "oauth_client_key, oauth_key_id"),
        (
            {"oauth_client_id": "a", "oauth_key_id": "k", "oauth_client_key": "not a key"},
            "oauth_client_key must be an unencrypted PEM private key",
        ),
        ({"oauth_auth_server": "oauth2.segment.io"}, "oauth_auth_server"),
    ],
)
def test_bad_oauth_options(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Analytics("k", **options)


def test_the_private_key_is_never_shown(
    oauth_collector: Collector, clients: list[Analytics]
) -> None:
    client = oauth_client(oauth_collector, clients)
    assert "PRIVATE KEY" not in repr(client.oauth) and "PRIVATE KEY" not in repr(client)
