"""Trusted proxies: whose forwarding headers are believed, and the client address."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from segment_web.web.facts import RequestFacts


class TrustedProxies:
    """The ``forwarded_allow_ips`` rule: which peers' forwarding headers are believed."""

    def __init__(self, spec: str | tuple[str, ...]) -> None:
        items = spec.split(",") if isinstance(spec, str) else spec
        entries = [item.strip() for item in items if item.strip()]
        self.trust_all = "*" in entries
        self._networks = [
            _unmapped_network(ipaddress.ip_network(e, strict=False)) for e in entries if e != "*"
        ]
        self._addresses = {str(net.network_address) for net in self._networks if _single(net)}
        # Per instance: peers and proxies repeat, and a network lookup is slow.
        self.trusts: Callable[[str], bool] = lru_cache(maxsize=1024)(self._trusts)
        # A returning visitor's request repeats its peer and its forwarding header: the
        # walk is remembered per peer, header value and reading of it (the answer
        # depends on nothing else).
        self._walk_header = lru_cache(maxsize=1024)(self._walk_header_uncached)

    def _trusts(self, address: str) -> bool:
        """Whether ``address`` is a proxy whose forwarding headers are believed.

        A dual-stack socket shows an IPv4 peer as IPv4-mapped (``::ffff:127.0.0.1``):
        it is judged as the IPv4 address it is."""
        if self.trust_all or address in self._addresses:
            return True
        parsed = _parse_ip(address)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
            if str(parsed) in self._addresses:
                return True
        return parsed is not None and any(parsed in net for net in self._networks)

    def request_ip(self, facts: RequestFacts) -> str | None:
        """The client's address for this request. Behind a trusted peer, the first of
        ``X-Forwarded-For``, RFC 7239 ``Forwarded: for=`` and ``X-Real-IP`` (nginx's
        ``proxy_set_header X-Real-IP``) that the request has is read, under one rule."""
        peer_ip = _valid_ip(facts.peer)
        if peer_ip is None or not self.trusts(peer_ip):
            return peer_ip
        header = facts.header
        forwarded_for = header("x-forwarded-for")
        if forwarded_for:
            return self._walk_header(peer_ip, forwarded_for, forwarded_for_hops)
        forwarded = header("forwarded")
        if forwarded:
            return self._walk_header(peer_ip, forwarded, forwarded_hops)
        real_ip = header("x-real-ip")
        if real_ip:
            return self._walk_header(peer_ip, real_ip, _one_hop)
        return peer_ip

    def _walk_header_uncached(
        self, peer_ip: str, value: str, hops_of: Callable[[str], list[str]]
    ) -> str:
        return self._walk(peer_ip, hops_of(value))

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The peer, or the first untrusted hop of X-Forwarded-For read from the right
        when the peer is a trusted proxy. Invalid hops end the walk."""
        peer_ip = _valid_ip(peer)
        if peer_ip is None or not forwarded_for or not self.trusts(peer_ip):
            return peer_ip
        return self._walk_header(peer_ip, forwarded_for, forwarded_for_hops)

    def _walk(self, peer_ip: str, hops: list[str]) -> str:
        """Read the hops from the right (the nearest proxy wrote the last one) past
        trusted proxies; the first untrusted address is the client. A hop that is no
        address (``unknown``, an obfuscated name, garbage) ends the walk."""
        best = peer_ip
        for hop in reversed(hops):
            hop_ip = _valid_ip(_strip_port(hop.strip()))
            if hop_ip is None:
                return best
            best = hop_ip
            if not self.trusts(hop_ip):
                return hop_ip
        return best


def forwarded_for_hops(header: str) -> list[str]:
    """The addresses of an ``X-Forwarded-For`` header, in order (each still to be trimmed)."""
    return header.split(",")


def _one_hop(header: str) -> list[str]:
    """``X-Real-IP``: one address."""
    return [header]


def forwarded_hops(header: str) -> list[str]:
    """The ``for=`` node of each element of an RFC 7239 ``Forwarded`` header, in order
    (an element without one gives ``""``, which ends a walk like any invalid hop)."""
    hops = []
    for element in header.split(","):
        node = ""
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "for":
                node = value.strip().strip('"')
                break
        hops.append(node)
    return hops


def _unmapped_network(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPv4-mapped network (``::ffff:10.0.0.0/104``) as the IPv4 network it maps."""
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is None or network.prefixlen < 96:
        return network
    return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")


def _single(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return network.num_addresses == 1


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=1024)  # peers and proxies repeat; parsing an address is slow
def _valid_ip(text: str | None) -> str | None:
    if not text:
        return None
    parsed = _parse_ip(text.strip())
    return str(parsed) if parsed is not None else None


def _strip_port(hop: str) -> str:
    """``1.2.3.4:80`` → ``1.2.3.4``; ``[::1]:80`` → ``::1``; bare IPv6 kept."""
    if hop.startswith("["):
        return hop[1:].partition("]")[0]
    if hop.count(":") == 1:
        return hop.partition(":")[0]
    return hop
