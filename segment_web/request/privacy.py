"""What a request may reveal about the visitor. Today: whether ``context.ip`` is sent.

The place for every rule that limits or labels personal data taken from a request
(IP masking, consent categories, Global Privacy Control), so each stays one small,
framework-free step that the context builder applies.
"""

from __future__ import annotations

from .facts import RequestFacts
from .proxies import TrustedProxies


class PrivacyRules:
    """The privacy settings of one app, compiled once."""

    def __init__(self, *, capture_ip: bool, proxies: TrustedProxies) -> None:
        self.capture_ip = capture_ip
        self.proxies = proxies

    def ip(self, facts: RequestFacts) -> str | None:
        """The address to send as ``context.ip``, or None when it is not to be sent."""
        if not self.capture_ip:
            return None
        return self.proxies.request_ip(facts)
