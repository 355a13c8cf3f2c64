"""Which ``Host`` headers the collector answers: a guard against DNS rebinding.

A web page on ``attacker.example`` whose name is made to resolve to 127.0.0.1 reaches
the collector with ``Host: attacker.example``. Answering only ``localhost``, IP
addresses (a rebinding attack needs a name the attacker controls) and the names given
with ``--allow-host`` keeps such pages from reading or writing the events.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOCAL_NAMES = frozenset({"localhost"})


class HostRule:
    """Decides whether a ``Host`` header value is one the collector answers."""

    def __init__(self, bound_host: str, allowed: Iterable[str] = ()) -> None:
        self.names = LOCAL_NAMES | {bound_host.lower()} | {name.lower() for name in allowed}

    def allows(self, host_header: str | None) -> bool:
        """True for a missing header (no browser sends that), an IP, or a known name."""
        if host_header is None:
            return True
        host = hostname(host_header)
        return host in self.names or _is_ip(host)


def hostname(host_header: str) -> str:
    """The name or address of a ``Host`` value, without port or IPv6 brackets, lowercased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
