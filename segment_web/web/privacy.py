"""What a request may reveal about the visitor, and the consent it carries.

Every rule that limits or labels personal data taken from a request lives here, each a
small framework-free step the context builder applies:

- ``context.ip``: sent or not (``capture_ip``), masked to its network (``anonymize_ip``);
- ``context.consent.categoryPreferences``: what the app's ``consent`` callable returned,
  the Segment consent-manager cookie (``consent_cookie``) under it, and Global Privacy
  Control (``gpc_categories``) over both; the cookie's per-destination flags become
  the message's ``integrations``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from segment_web.web.consent import category_preferences, read_tracking_preferences
from segment_web.web.facts import RequestFacts
from segment_web.web.proxies import TrustedProxies

logger = logging.getLogger("segment_web")

# Bits kept of an address when masking: the network part, as analytics tools keep it
# (Google Analytics and Matomo zero an IPv4 address's last octet and an IPv6 address's
# last 80 bits).
IPV4_KEPT_BITS = 24
IPV6_KEPT_BITS = 48
# A 6to4 address (2002::/16) carries its IPv4 address in bits 16-48, all of which the
# IPv6 rule would keep: its IPv4 address is masked by the IPv4 rule instead.
_SIX_TO_FOUR_KEPT_BITS = 16 + IPV4_KEPT_BITS

ConsentReader = Callable[[Any], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class RequestConsent:
    """What a request says about consent: ``context.consent.categoryPreferences``
    (empty: nothing known) and destination flags for ``integrations``."""

    categories: dict[str, bool] = field(default_factory=dict)
    destinations: dict[str, bool] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        """The ``context.consent`` of the request's messages (empty when unknown)."""
        if not self.categories:
            return {}
        return {"categoryPreferences": dict(self.categories)}


NO_CONSENT = RequestConsent()


class PrivacyRules:
    """The privacy settings of one app, compiled once."""

    def __init__(
        self,
        *,
        capture_ip: bool,
        proxies: TrustedProxies,
        anonymize_ip: bool = False,
        consent: ConsentReader | None = None,
        consent_cookie: str | None = None,
        gpc_categories: tuple[str, ...] = (),
    ) -> None:
        self.capture_ip = capture_ip
        self.anonymize_ip = anonymize_ip
        self.proxies = proxies
        self.consent_reader = consent
        self.consent_cookie = consent_cookie
        self.gpc_categories = gpc_categories
        self.reads_consent = bool(consent or consent_cookie or gpc_categories)

    def ip(self, facts: RequestFacts) -> str | None:
        """The address to send as ``context.ip``, or None when it is not to be sent."""
        if not self.capture_ip:
            return None
        address = self.proxies.request_ip(facts)
        if address and self.anonymize_ip:
            return mask_ip(address)
        return address

    def consent(self, facts: RequestFacts) -> RequestConsent:
        """The request's consent: the consent-manager cookie, the ``consent`` callable's
        answer over it, then Global Privacy Control over both (key by key)."""
        if not self.reads_consent:
            return NO_CONSENT
        categories: dict[str, bool] = {}
        destinations: dict[str, bool] = {}
        if self.consent_cookie:
            preferences = read_tracking_preferences(facts.cookie(self.consent_cookie))
            if preferences is not None:
                categories.update(preferences.categories)
                destinations.update(preferences.destinations)
        if self.consent_reader is not None:
            categories.update(self._ask_reader(facts))
        if self.gpc_categories and global_privacy_control(facts):
            categories.update(dict.fromkeys(self.gpc_categories, False))
        return RequestConsent(categories, destinations)

    def _ask_reader(self, facts: RequestFacts) -> dict[str, bool]:
        reader = self.consent_reader
        assert reader is not None
        try:
            answer = reader(facts.request)
        except Exception:
            # A broken consent callable means "unknown", never a failed request.
            logger.exception("segment_web: the consent callable raised; consent unknown")
            return {}
        return category_preferences(answer, source="the consent callable")


def global_privacy_control(facts: RequestFacts) -> bool:
    """Whether the request carries ``Sec-GPC: 1``: the visitor asks not to have their
    data sold or shared (the only value the GPC specification defines)."""
    value = facts.header("sec-gpc")
    return value is not None and value.strip() == "1"


@lru_cache(maxsize=1024)  # visitors come back; parsing an address is slow
def mask_ip(address: str) -> str:
    """``address`` with only its network part: IPv4 ``203.0.113.77`` → ``203.0.113.0``,
    IPv6 ``2001:db8:85a3:8d3:1319:8a2e:370:7348`` → ``2001:db8:85a3::``.

    IPv6 addresses that carry an IPv4 address keep no more of it than the IPv4 rule:
    IPv4-mapped ``::ffff:203.0.113.77`` → ``::ffff:203.0.113.0``; 6to4
    ``2002:cb00:714d::1`` (203.0.113.77) → ``2002:cb00:7100::``. Teredo (``2001::/32``),
    NAT64 (``64:ff9b::/96``) and ISATAP keep the client's IPv4 address in the last 64
    bits, which the IPv6 rule already zeroes."""
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return f"::ffff:{_network(parsed.ipv4_mapped, IPV4_KEPT_BITS)}"
    if parsed.version == 4:
        kept = IPV4_KEPT_BITS
    elif isinstance(parsed, ipaddress.IPv6Address) and parsed.sixtofour is not None:
        kept = _SIX_TO_FOUR_KEPT_BITS
    else:
        kept = IPV6_KEPT_BITS
    return str(_network(parsed, kept))


def _network(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, kept_bits: int
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_network(f"{address}/{kept_bits}", strict=False).network_address
