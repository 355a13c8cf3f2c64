"""Building request facts from plain dicts, as an adapter would from its request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segment_web.web.facts import RequestFacts


def request_facts(
    method: str = "GET",
    scheme: str = "https",
    host: str = "shop.example",
    path: str = "/cart",
    query_string: str = "",
    peer: str | None = "203.0.113.7",
    *,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    request: Any = None,
) -> RequestFacts:
    """Facts with ``headers`` (names in any case) and ``cookies`` read from dicts;
    ``request`` stands for the framework's request object."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    return RequestFacts(
        method,
        scheme,
        host,
        path,
        query_string,
        peer,
        header=lowered.get,
        cookie=dict(cookies or {}).get,
        request=request,
    )


KEY_PREFIX = "key-"


def key_of(tenant: str | None) -> str:
    """A tenant's write key; no tenant is an error, as an app's lookup would raise."""
    if not tenant:
        raise LookupError("no X-Tenant header")
    return KEY_PREFIX + tenant


def scope_write_key(scope: Mapping[str, Any]) -> str:
    """A write-key callable for ASGI: the tenant in the scope's ``X-Tenant`` header."""
    tenant = dict(scope["headers"]).get(b"x-tenant")
    return key_of(tenant.decode() if tenant else None)
