"""``RequestFacts``: what an adapter reads off a request, as plain values.

The few facts every request has (method, scheme, host, path, query string, peer) are
read up front; headers and cookies are read on demand through the adapter's own
lookups (as sentry-python's ``RequestExtractor`` does), so a new rule that needs one
more header — consent, ``Sec-GPC``, ``X-Real-IP`` — needs no change in any adapter.

``request`` is the framework's own request object (Django ``HttpRequest``, Flask
``Request``, the ASGI scope), set by each adapter where it builds the facts. The shared
layer never looks inside it: it only hands it to the app's own callables (``consent``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Reads one header by its lower-case name (``"user-agent"``), or one cookie by name;
# None when the request has none. Repeated headers come joined with ", ".
Lookup = Callable[[str], "str | None"]


def _nothing(name: str) -> str | None:
    return None


class RequestFacts:
    """One request, framework-free.

    ``header(name)`` reads the request's header ``name`` (lower case, e.g. ``"sec-gpc"``)
    and ``cookie(name)`` the raw (still encoded) value of a cookie, both lazily and None
    when absent. They are the adapter's own lookups, kept as attributes: calling them
    adds no layer to the few lookups every request makes.
    """

    __slots__ = (
        "cookie",
        "header",
        "host",
        "method",
        "path",
        "peer",
        "query_string",
        "request",
        "scheme",
    )

    def __init__(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query_string: str = "",
        peer: str | None = None,
        *,
        header: Lookup = _nothing,
        cookie: Lookup = _nothing,
        request: Any = None,
    ) -> None:
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query_string = query_string
        self.peer = peer
        self.header: Lookup = header
        self.cookie: Lookup = cookie
        self.request = request

    def __repr__(self) -> str:
        return f"<RequestFacts {self.method} {self.scheme}://{self.host}{self.path}>"
