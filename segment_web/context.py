"""Request facts → Segment context, anonymous id, and the auto-page decision.

Framework-agnostic: an adapter turns its request into ``RequestFacts`` (plain
strings) and calls ``start_request``; everything Segment-specific is decided here,
once, for Django, Flask and ASGI alike.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from .client import Analytics
from .handle import RequestAnalytics
from .settings import SegmentSettings

logger = logging.getLogger("segment_web")

_UTM_TO_CAMPAIGN = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
_MAX_ANONYMOUS_ID = 200
_NEEDS_DECODING = re.compile(r'[%"\\\s]')


@dataclass(frozen=True)
class RequestFacts:
    """What an adapter reads off a request, as plain values (headers as sent, or None)."""

    method: str
    scheme: str
    host: str
    path: str
    query_string: str = ""
    peer: str | None = None
    user_agent: str | None = None
    accept_language: str | None = None
    referrer: str | None = None
    forwarded_for: str | None = None
    anonymous_id_cookie: str | None = None


@dataclass(frozen=True)
class CookieSpec:
    """The anonymous-id cookie to set; ``kwargs()`` fits Django's and Flask's set_cookie."""

    name: str
    value: str
    max_age: int
    secure: bool
    domain: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "key": self.name,
            "value": self.value,
            "max_age": self.max_age,
            "path": "/",
            "domain": self.domain,
            "secure": self.secure,
            "httponly": False,  # analytics.js in the browser must read it
            "samesite": "Lax",
        }

    def header(self) -> str:
        """The ``Set-Cookie`` header value, for adapters that write raw headers."""
        parts = [f"{self.name}={self.value}", "Path=/", f"Max-Age={self.max_age}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.secure:
            parts.append("Secure")
        parts.append("SameSite=Lax")
        return "; ".join(parts)


class TrustedProxies:
    """The ``forwarded_allow_ips`` rule: whose ``X-Forwarded-For`` is believed."""

    def __init__(self, spec: str | tuple[str, ...]) -> None:
        items = spec.split(",") if isinstance(spec, str) else spec
        entries = [item.strip() for item in items if item.strip()]
        self.trust_all = "*" in entries
        self._networks = [ipaddress.ip_network(e, strict=False) for e in entries if e != "*"]
        self._addresses = {str(net.network_address) for net in self._networks if _single(net)}
        # Per instance: peers and proxies repeat, and a network lookup is slow.
        self._trusts_cached = lru_cache(maxsize=1024)(self._trusts)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is a proxy whose X-Forwarded-For is believed."""
        return self._trusts_cached(address)

    def _trusts(self, address: str) -> bool:
        if self.trust_all or address in self._addresses:
            return True
        parsed = _parse_ip(address)
        return parsed is not None and any(parsed in net for net in self._networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address: the peer, or the first untrusted hop of X-Forwarded-For
        read from the right when the peer is a trusted proxy. Invalid hops end the walk."""
        peer_ip = _valid_ip(peer)
        if peer_ip is None or not forwarded_for or not self.trusts(peer_ip):
            return peer_ip
        best = peer_ip
        for hop in reversed(forwarded_for.split(",")):
            hop_ip = _valid_ip(_strip_port(hop.strip()))
            if hop_ip is None:
                return best
            best = hop_ip
            if not self.trusts(hop_ip):
                return hop_ip
        return best


class PageRules:
    """When a response earns an automatic ``page`` call."""

    def __init__(self, enabled: bool, exclude: tuple[str, ...]) -> None:
        self.enabled = enabled
        anchored = [p if p.startswith(("/", ".*", "^")) else "/" + p for p in exclude]
        # Whole-path match, trailing slash optional: "health" excludes /health and
        # /health/ but not /healthy-food.
        joined = "|".join(f"(?:{p.removeprefix('^').removesuffix('$')})" for p in anchored)
        self._exclude = re.compile(f"(?:{joined})/?") if anchored else None

    def excluded(self, path: str) -> bool:
        return self._exclude is not None and self._exclude.fullmatch(path) is not None

    def wants_page(self, method: str, status: int, content_type: str | None, path: str) -> bool:
        return (
            self.enabled
            and method == "GET"
            and 200 <= status < 300
            and content_type is not None
            and content_type.split(";", 1)[0].strip().lower() == "text/html"
            and not self.excluded(path)
        )


class RequestRules:
    """The per-app part of ``SegmentSettings`` compiled once, used on every request."""

    def __init__(self, settings: SegmentSettings) -> None:
        self.settings = settings
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)
        self.pages = PageRules(settings.auto_page, settings.page_exclude)

    def context(self, facts: RequestFacts) -> dict[str, Any]:
        """The Segment ``context`` this request gives every message sent during it."""
        context: dict[str, Any] = {}
        if self.settings.capture_ip:
            ip = self.proxies.client_ip(facts.peer, facts.forwarded_for)
            if ip:
                context["ip"] = ip
        if facts.user_agent:
            context["userAgent"] = facts.user_agent
        locale = preferred_locale(facts.accept_language)
        if locale:
            context["locale"] = locale
        context["page"] = page_facts(facts)
        campaign = campaign_from_query(facts.query_string)
        if campaign:
            context["campaign"] = campaign
        return context


def page_facts(facts: RequestFacts) -> dict[str, str]:
    """``context.page`` (and the auto page's properties): url, path, search, referrer."""
    search = f"?{facts.query_string}" if facts.query_string else ""
    page = {"path": facts.path, "url": f"{facts.scheme}://{facts.host}{facts.path}{search}"}
    if search:
        page["search"] = search
    if facts.referrer:
        page["referrer"] = facts.referrer
    return page


def campaign_from_query(query_string: str) -> dict[str, str]:
    """``context.campaign`` from utm_* parameters (utm_campaign becomes ``name``)."""
    if "utm_" not in query_string:
        return {}
    campaign = {}
    for key, value in parse_qsl(query_string):
        name = _UTM_TO_CAMPAIGN.get(key.lower())
        if name and value:
            campaign[name] = value
    return campaign


@lru_cache(maxsize=256)
def preferred_locale(accept_language: str | None) -> str | None:
    """The highest-weighted language tag of an Accept-Language header, e.g. ``en-US``."""
    if not accept_language:
        return None
    best, best_q = None, 0.0
    for item in accept_language.split(","):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", tag):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = tag, q
    return best


def read_anonymous_id(raw: str | None) -> str | None:
    """The id in an ``ajs_anonymous_id`` cookie: URL-decoded, JSON-unquoted when it is a
    JSON string (classic analytics.js wrote ``%22…%22``), else as is."""
    if not raw:
        return None
    classic = raw.startswith("%22") and raw.endswith("%22")
    if classic and not _NEEDS_DECODING.search(raw, 3, len(raw) - 3):
        value = raw[3:-3]  # the classic format's common case, without unquote and json
        return value if 0 < len(value) <= _MAX_ANONYMOUS_ID else None
    value = unquote(raw).strip()
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            value = decoded.strip()
    if not value or len(value) > _MAX_ANONYMOUS_ID:
        return None
    return value


class RequestScope:
    """One request's analytics: its handle, the cookie to set, and the auto page."""

    def __init__(
        self,
        rules: RequestRules,
        client: Analytics,
        facts: RequestFacts,
        user_id: Callable[[], Any] | str | int | None = None,
    ) -> None:
        self.rules = rules
        self.facts = facts
        anonymous_id = read_anonymous_id(facts.anonymous_id_cookie)
        self.new_anonymous_id: str | None = None
        if anonymous_id is None:
            # A browser keeps this id for a year: unpredictable, from the OS, unlike message ids.
            anonymous_id = self.new_anonymous_id = str(uuid.uuid4())
        self.handle = RequestAnalytics(
            client, user_id=user_id, anonymous_id=anonymous_id, context=rules.context(facts)
        )

    def cookie(self) -> CookieSpec | None:
        """The anonymous-id cookie to set on the response, when this request made the id."""
        settings = self.rules.settings
        if self.new_anonymous_id is None or not settings.set_anonymous_id_cookie:
            return None
        return CookieSpec(
            name=settings.anonymous_id_cookie,
            value=self.new_anonymous_id,
            max_age=settings.anonymous_id_cookie_max_age,
            secure=self.facts.scheme == "https",
            domain=settings.anonymous_id_cookie_domain,
        )

    def finish(self, status: int, content_type: str | None, page_name: str | None) -> bool:
        """Send the automatic ``page`` call if the response earns one; True if it did."""
        facts = self.facts
        if not self.rules.pages.wants_page(facts.method, status, content_type, facts.path):
            return False
        self.handle.page(name=page_name or None, properties=page_facts(facts))
        return True


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
