"""``SegmentMiddleware``: turns a Django request into ``RequestFacts`` and its response
into the shared layer's finish; sync and async, decided once per middleware chain."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.http.response import HttpResponseBase
from django.utils.functional import SimpleLazyObject

from segment_web.core.handle import RequestAnalytics, activate
from segment_web.django.apps import app_config
from segment_web.web.facts import RequestFacts
from segment_web.web.integration import Integration, log_failure, never_raise
from segment_web.web.tracked_request import TrackedRequest
from segment_web.web.wsgi import environ_headers

UserIdOf = Callable[[HttpRequest], Any]


class SegmentMiddleware:
    """Gives each request ``request.analytics`` (also what ``segment_web.track()`` uses
    during it), sets the anonymous-id cookie and sends the automatic page call."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._app = app_config()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        integration = self._app.integration
        user_id_of: UserIdOf = integration.settings.user_id or authenticated_user_id
        # Lazy: the user (and so the session) is loaded only when a message needs it.
        tracked = self._start(integration, request, partial(user_id_of, request))
        user_before = getattr(request, "user", None)
        with activate(request.analytics):
            response = self.get_response(request)
        self._finish(integration, tracked, request, response, user_before, user_id_of)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        integration = self._app.integration
        custom = integration.settings.user_id
        user_id_of: UserIdOf = custom or authenticated_user_id
        user_id: Any = partial(custom, request) if custom else await _auth_user_id(request)
        tracked = self._start(integration, request, user_id)
        user_before = getattr(request, "user", None)
        with activate(request.analytics):
            response = await self.get_response(request)
        self._finish(integration, tracked, request, response, user_before, user_id_of)
        return response

    def _start(
        self, integration: Integration, request: HttpRequest, user_id: Any
    ) -> TrackedRequest | None:
        try:
            tracked = integration.start(read_facts(request), user_id)
        except Exception:
            log_failure("reading the request")
            tracked = None
        # Views may rely on request.analytics: without the request's facts it still
        # carries the user id (the failure above is logged).
        request.analytics = (
            tracked.handle if tracked else RequestAnalytics(integration.client, user_id=user_id)
        )
        return tracked

    def _finish(
        self,
        integration: Integration,
        tracked: TrackedRequest | None,
        request: HttpRequest,
        response: HttpResponseBase,
        user_before: Any,
        user_id_of: UserIdOf,
    ) -> None:
        if tracked is None:
            return
        try:
            cookie = tracked.cookie()
            if cookie is not None and cookie.name not in response.cookies:
                response.set_cookie(**cookie.kwargs())
            # login()/logout() (and DRF authentication) replace request.user: the page
            # call, sent after the view, goes under the new user.
            if getattr(request, "user", None) is not user_before:
                tracked.handle.user_id = user_id_of(request)
        except Exception:
            log_failure("setting the cookie and re-reading the user")
        integration.finish(
            tracked, response.status_code, response.get("Content-Type"), page_name(request)
        )


def read_facts(request: HttpRequest) -> RequestFacts:
    """The plain values the shared layer needs, read off a Django request."""
    meta = request.META
    return RequestFacts(
        method=request.method or "GET",
        scheme=request.scheme,
        host=_host(request),
        path=request.path,
        query_string=meta.get("QUERY_STRING", ""),
        peer=meta.get("REMOTE_ADDR"),
        header=environ_headers(meta),
        cookie=request.COOKIES.get,
        request=request,
    )


def _host(request: HttpRequest) -> str:
    """``request.get_host()``, or SERVER_NAME when Django refuses the host (it answers
    400 for it elsewhere, in CommonMiddleware; here the host only names the page).

    The common case — a ``Host`` header, no ``USE_X_FORWARDED_HOST`` — asks Django's
    own ``split_domain_port`` and ``validate_host`` once per host and ALLOWED_HOSTS, not
    on every request: the check is the same, its answer remembered (~5 µs a request)."""
    host = request.META.get("HTTP_HOST")
    if isinstance(host, str) and not settings.USE_X_FORWARDED_HOST:
        allowed_hosts = settings.ALLOWED_HOSTS
        if not allowed_hosts and settings.DEBUG:
            allowed_hosts = _DEBUG_ALLOWED_HOSTS
        if _host_allowed(host, tuple(allowed_hosts)):
            return host
        return str(request.META.get("SERVER_NAME", ""))
    try:
        return request.get_host()  # type: ignore[no-any-return]
    except DisallowedHost:
        return str(request.META.get("SERVER_NAME", ""))


# What Django's get_host() allows when DEBUG is on and ALLOWED_HOSTS is empty.
_DEBUG_ALLOWED_HOSTS = (".localhost", "127.0.0.1", "[::1]")


@lru_cache(maxsize=256)
def _host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed_hosts)


def authenticated_user_id(request: HttpRequest) -> Any:
    """The default ``USER_ID``: ``request.user.pk`` when authenticated, else None."""
    user = getattr(request, "user", None)
    if user is None or _anonymous_by_session(request, user):
        return None
    if not user.is_authenticated:
        return None
    return user.pk


def _anonymous_by_session(request: HttpRequest, user: Any) -> bool:
    """True when ``user`` is AuthenticationMiddleware's own lazy user and the request
    came without a session cookie: Django's ``get_user()`` reads the user from the
    session alone, so that user is anonymous. Knowing it without loading the user skips
    the auth machinery (~8 µs) and leaves the session untouched, so SessionMiddleware
    adds no ``Vary: Cookie`` for it. ``login()`` replaces ``request.user``, and any other
    authentication (DRF, remote user, a custom lazy user) is not this lazy object: those
    users are always loaded."""
    if not isinstance(user, SimpleLazyObject):
        return False
    loader = user.__dict__.get("_setupfunc")
    if getattr(loader, "__module__", None) != _AUTH_MIDDLEWARE_MODULE:
        return False
    session = getattr(request, "session", None)
    return session is not None and getattr(session, "session_key", True) is None


_AUTH_MIDDLEWARE_MODULE = "django.contrib.auth.middleware"


async def _auth_user_id(request: HttpRequest) -> Any:
    """``authenticated_user_id`` for the async path: ``request.user`` would query the
    database synchronously from the event loop, ``await request.auser()`` does not."""
    if not hasattr(request, "auser"):  # no AuthenticationMiddleware, or Django 4.2
        return await sync_to_async(authenticated_user_id)(request)
    with never_raise("loading the request's user"):
        user = await request.auser()
        return user.pk if user.is_authenticated else None
    return None


def page_name(request: HttpRequest) -> str | None:
    """The auto page's name: the URL name (``"ns:name"`` when namespaced), else the
    view's function or class name."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if match.url_name:
        return match.view_name  # type: ignore[no-any-return]
    view = getattr(match.func, "view_class", match.func)
    name = getattr(view, "__name__", None)
    return name if isinstance(name, str) else None
