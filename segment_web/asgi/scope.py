"""Reading an ASGI ``http`` scope into plain values: the request facts, the user, the route.

Only the scope is read (never ``receive``), so the request body stays the app's. Anything
framework-specific (Starlette's ``scope["route"]`` and ``scope["user"]``) is looked up
defensively, so the middleware serves any ASGI app.
"""

from __future__ import annotations

from typing import Any

from segment_web.asgi.protocol import Scope
from segment_web.web.facts import RequestFacts

_DEFAULT_PORTS = {"http": 80, "https": 443}


def request_facts(scope: Scope) -> RequestFacts:
    """The facts of one request; headers and cookies are read when first asked for."""
    headers = _Headers(scope["headers"])
    scheme: str = scope.get("scheme") or "http"
    client = scope.get("client")
    host = headers.get("host")
    return RequestFacts(
        method=scope["method"],
        scheme=scheme,
        host=host or _server_host(scope.get("server"), scheme),
        path=_full_path(scope),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        peer=client[0] if client else None,
        header=headers.get,
        cookie=headers.cookie,
        request=scope,
    )


class _Headers:
    """A scope's headers by lower-case name, decoded on the first lookup (ASGI header
    names are lower-cased bytes; values bytes, Latin-1 per RFC 9110)."""

    __slots__ = ("_by_name", "_raw")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._by_name: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        by_name = self._by_name
        if by_name is None:
            by_name = self._by_name = self._decode()
        return by_name.get(name)

    def _decode(self) -> dict[str, str]:
        by_name: dict[str, str] = {}
        for raw_name, raw_value in self._raw:
            name = raw_name.decode("latin-1").lower()
            if name == "cookie":
                # Cookies as Django and Werkzeug read them: UTF-8 (undecodable bytes
                # become U+FFFD); HTTP/2 may split Cookie into several headers (RFC 9113
                # §8.2.3), which join with "; ".
                value = raw_value.decode("utf-8", "replace")
                joiner = "; "
            else:
                value = raw_value.decode("latin-1")
                joiner = ", "  # repeated headers are one list (RFC 9110 §5.3)
            below = by_name.get(name)
            by_name[name] = value if below is None else below + joiner + value
        return by_name

    def cookie(self, name: str) -> str | None:
        header = self.get("cookie")
        return cookie_value(header, name) if header else None


def cookie_value(header: str, name: str) -> str | None:
    """The raw value of cookie ``name`` in a Cookie header (the first one, as browsers put
    the most specific path first); None when absent. The value is left encoded: the shared
    layer unwraps analytics.js's quoting. ``SimpleCookie`` is not used because one
    malformed cookie elsewhere in the header makes it drop them all."""
    if name not in header:
        return None
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def _full_path(scope: Scope) -> str:
    """The path the browser asked for. Current servers (uvicorn ≥ 0.26, Starlette's
    ``get_route_path``) put ``root_path`` inside ``path``; older ones left it out."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path") or ""
    if not root_path or path == root_path or path.startswith(root_path + "/"):
        return path
    return root_path + path


def _server_host(server: Any, scheme: str) -> str:
    """``host[:port]`` from the ``server`` pair, for a request without a Host header."""
    if not server:
        return ""
    host, port = server[0], server[1]
    if port is None:  # a Unix socket path
        return "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


def scope_user_id(scope: Scope) -> Any:
    """The id of ``scope["user"]`` when authenticated (Starlette's AuthenticationMiddleware):
    its ``identity`` (``SimpleUser`` gives its username). Read when first needed, so an
    authentication middleware placed inside this one has run by then."""
    user = scope.get("user")
    if user is None:
        return None
    try:
        if not getattr(user, "is_authenticated", False):
            return None
    except NotImplementedError:
        return None
    try:
        identity = getattr(user, "identity", None)
    except NotImplementedError:  # BaseUser's own; SimpleUser has no other before Starlette 1.10
        identity = None
    return identity or getattr(user, "username", None) or None


def route_name(scope: Scope) -> str | None:
    """The matched route's name for the automatic page, read after the app ran: Starlette
    and FastAPI leave the route in ``scope["route"]`` (its name, else its path), Litestar
    its handler in ``scope["route_handler"]`` (its ``name=``) and the path template in
    ``scope["path_template"]``; else the endpoint's name."""
    route = scope.get("route")
    handler = scope.get("route_handler")
    candidates = (
        getattr(route, "name", None),
        getattr(route, "path", None),
        getattr(handler, "name", None),
        scope.get("path_template"),
        getattr(scope.get("endpoint"), "__name__", None),
    )
    for name in candidates:
        if name and isinstance(name, str):
            return name
    return None


def url_map_of(app: Any) -> Any:
    """A Werkzeug-style URL map of the app this middleware wraps, when it has one: Quart's
    documented mounting, ``app.asgi_app = SegmentMiddleware(app.asgi_app)``, hands over a
    bound method of the app, whose ``url_map`` (public) names its routes. None for any
    other app."""
    for candidate in (getattr(app, "__self__", None), app):
        url_map = getattr(candidate, "url_map", None)
        if url_map is not None and callable(getattr(url_map, "bind", None)):
            return url_map
    return None


def endpoint_from_url_map(url_map: Any, scope: Scope) -> str | None:
    """The endpoint name ``url_map`` gives the request's path and method (Quart names
    its routes so, as Flask does); None when nothing matches."""
    root_path: str = scope.get("root_path") or ""
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    try:
        adapter = url_map.bind("localhost", script_name=root_path or None)
        rule, _ = adapter.match(path, method=scope.get("method"), return_rule=True)
    except Exception:  # no route, another method, a redirect: no name
        return None
    endpoint = getattr(rule, "endpoint", None)
    return endpoint if isinstance(endpoint, str) and endpoint else None
