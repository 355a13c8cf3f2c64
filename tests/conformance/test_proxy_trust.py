"""The client's address through each adapter, checked on the wire: forwarding headers
believed only from trusted proxies, IP masking with and without them, and no address
at all when capture is off."""

from __future__ import annotations

import pytest

from tests.conformance.drivers import Driver

IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3:8d3:1319:8a2e:370:7348"
MASKED = {IPV4: "203.0.113.0", IPV6: "2001:db8:85a3::"}


@pytest.mark.parametrize("address", [IPV4, IPV6])
def test_anonymize_ip_masks_the_peer_address(adapter: Driver, address: str) -> None:
    adapter.start(anonymize_ip=True)
    for message in adapter.visit_privacy(peer=address):
        assert message["context"]["ip"] == MASKED[address]


@pytest.mark.parametrize("address", [IPV4, IPV6])
def test_without_anonymize_ip_the_whole_address_is_sent(adapter: Driver, address: str) -> None:
    adapter.start()
    for message in adapter.visit_privacy(peer=address):
        assert message["context"]["ip"] == address


@pytest.mark.parametrize(
    ("headers", "sent_ip"),
    [
        ({"X-Forwarded-For": f"{IPV4}, 127.0.0.1"}, MASKED[IPV4]),
        ({"X-Forwarded-For": IPV6}, MASKED[IPV6]),
        ({"Forwarded": f'for="[{IPV6}]:4711";proto=https'}, MASKED[IPV6]),
        ({"X-Real-IP": IPV4}, MASKED[IPV4]),
    ],
    ids=["x-forwarded-for-ipv4", "x-forwarded-for-ipv6", "forwarded-ipv6", "x-real-ip-ipv4"],
)
def test_anonymize_ip_masks_the_client_behind_a_trusted_proxy(
    adapter: Driver, headers: dict[str, str], sent_ip: str
) -> None:
    adapter.start(anonymize_ip=True)  # 127.0.0.1 is a trusted proxy by default
    for message in adapter.visit_privacy(peer="127.0.0.1", headers=headers):
        assert message["context"]["ip"] == sent_ip


def test_a_trusted_proxy_on_a_dual_stack_socket_is_still_trusted(adapter: Driver) -> None:
    adapter.start(anonymize_ip=True)  # 127.0.0.1 is a trusted proxy by default
    headers = {"X-Forwarded-For": IPV4}
    for message in adapter.visit_privacy(peer="::ffff:127.0.0.1", headers=headers):
        assert message["context"]["ip"] == MASKED[IPV4]


def test_anonymize_ip_masks_the_untrusted_peer_not_its_forwarding_header(
    adapter: Driver,
) -> None:
    adapter.start(anonymize_ip=True, forwarded_allow_ips="10.0.0.0/8")
    headers = {"X-Forwarded-For": "198.51.100.1"}
    for message in adapter.visit_privacy(peer=IPV4, headers=headers):
        assert message["context"]["ip"] == MASKED[IPV4]


def test_anonymize_ip_with_a_trusted_proxy_network(adapter: Driver) -> None:
    adapter.start(anonymize_ip=True, forwarded_allow_ips="10.0.0.0/8")
    for message in adapter.visit_privacy(peer="10.1.2.3", headers={"X-Forwarded-For": IPV6}):
        assert message["context"]["ip"] == MASKED[IPV6]


def test_capture_ip_off_still_removes_the_address(adapter: Driver) -> None:
    adapter.start(anonymize_ip=True, capture_ip=False)
    for message in adapter.visit_privacy(peer=IPV4):
        assert "ip" not in message["context"]


@pytest.mark.parametrize(
    ("peer", "options", "headers", "sent_ip"),
    [
        ("203.0.113.9", {}, {"X-Forwarded-For": "198.51.100.7"}, "203.0.113.9"),
        ("127.0.0.1", {}, {"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"),
        # Read from the right: the proxy at 127.0.0.1 vouches only for its own client.
        ("127.0.0.1", {}, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}, "203.0.113.7"),
        (
            "10.1.2.3",
            {"forwarded_allow_ips": "10.0.0.0/8"},
            {"X-Forwarded-For": "198.51.100.7"},
            "198.51.100.7",
        ),
        ("127.0.0.1", {"capture_ip": False}, {"X-Forwarded-For": "198.51.100.7"}, None),
        ("127.0.0.1", {}, {"X-Real-IP": "198.51.100.7"}, "198.51.100.7"),
        ("127.0.0.1", {}, {"Forwarded": "for=198.51.100.8;proto=https"}, "198.51.100.8"),
        ("127.0.0.1", {}, {"Forwarded": 'for="[2001:db8::9]:443"'}, "2001:db8::9"),
        (
            "127.0.0.1",
            {},
            {"X-Forwarded-For": "198.51.100.9", "X-Real-IP": "198.51.100.7"},
            "198.51.100.9",
        ),
    ],
    ids=[
        "untrusted-peer",
        "trusted-peer",
        "rightmost-untrusted",
        "trusted-network",
        "capture-off",
        "x-real-ip",
        "forwarded",
        "forwarded-ipv6-with-port",
        "x-forwarded-for-over-x-real-ip",
    ],
)
def test_forwarding_headers_are_believed_only_from_trusted_proxies(
    adapter: Driver,
    peer: str,
    options: dict[str, object],
    headers: dict[str, str],
    sent_ip: str | None,
) -> None:
    adapter.start(**options)
    assert adapter.get("/hit/", peer=peer, headers=headers).status == 200
    (track,) = adapter.sent(1)
    assert track["context"].get("ip") == sent_ip
