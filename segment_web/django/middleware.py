"""``SegmentMiddleware``: turns a Django request into ``RequestFacts`` and its response
into the shared layer's finish; sync and async, decided once per middleware chain."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.http.response import HttpResponseBase
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from segment_web.core.client import Analytics
from segment_web.core.handle import RequestAnalytics, activate, streamed_with
from segment_web.django.apps import app_config
from segment_web.django.views import health_view
from segment_web.web.facts import RequestFacts
from segment_web.web.integration import Integration, log_failure, never_raise
from segment_web.web.tracked_request import TrackedRequest
from segment_web.web.users import await_user_id, is_async_resolver, refuse_async_resolver
from segment_web.web.wsgi import environ_headers

UserIdOf = Callable[[HttpRequest], Any]


class SegmentMiddleware:
    """Gives each request ``request.analytics`` (also what ``segment_web.track()`` uses
    during it, the streamed body of a ``StreamingHttpResponse`` included), sets the
    anonymous-id cookie and sends the automatic page call."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._app = app_config()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        else:
            # Only in this mode: Django would run a sync process_view through a thread
            # hop on every request of the async path.
            self.process_view = self._load_user_for_async_view
            try:
                refuse_async_resolver(
                    self._app.integration.settings.user_id,
                    "SEGMENT['USER_ID']",
                    "SegmentMiddleware in a synchronous middleware chain (WSGI, or a "
                    "sync-only middleware after it)",
                )
            except ValueError as error:
                raise ImproperlyConfigured(str(error)) from None

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        integration = self._app.integration
        user = RequestUser(request, integration.settings.user_id or authenticated_user_id)
        request._segment_user = user
        tracked = self._start(integration, request, user)
        with activate(request.analytics):
            response = self.get_response(request)
        self._finish(integration, tracked, request, response)
        return response

    def _load_user_for_async_view(
        self, request: HttpRequest, view: Callable[..., Any], *args: Any
    ) -> None:
        """An async view run from the sync path (WSGI) tracks from an event loop, where
        reading a lazy ``request.user`` would fail: the user is read before it, here."""
        user = getattr(request, "_segment_user", None)
        if isinstance(user, RequestUser) and iscoroutinefunction(view) and user.needs_loading():
            try:
                user()
            except Exception:
                log_failure("loading the request's user")

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        integration = self._app.integration
        settings = integration.settings
        custom = settings.user_id
        user_id: Any
        if custom is None:
            user_id = RequestUser(request, authenticated_user_id)
            with never_raise("loading the request's user"):
                await user_id.load_session_user()
        elif is_async_resolver(custom):
            user_id = await await_user_id(custom, request, settings.user_id_timeout)
        else:
            user_id = RequestUser(request, custom)
        # Only with several write keys: no await on every request's path otherwise.
        client = await integration.aclient_for(request) if integration.pool is not None else None
        tracked = self._start(integration, request, user_id, client)
        with activate(request.analytics):
            response = await self.get_response(request)
        if isinstance(user_id, RequestUser) and user_id.needs_loading():
            # A lazy user set during the request (a custom authentication): loaded off the
            # event loop, before the page call reads it.
            with never_raise("loading the request's user"):
                await sync_to_async(user_id)()
        self._finish(integration, tracked, request, response)
        return response

    def _start(
        self,
        integration: Integration,
        request: HttpRequest,
        user_id: Any,
        client: Analytics | None = None,
    ) -> TrackedRequest | None:
        try:
            tracked = integration.start(read_facts(request), user_id, client)
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
    ) -> None:
        if tracked is None or answered_by(request, health_view):
            return  # a health probe gets no cookie and no page, as under Flask and ASGI
        try:
            cookie = tracked.cookie()
            if cookie is not None and cookie.name not in response.cookies:
                response.set_cookie(**cookie.kwargs())
            if response.streaming and getattr(response, "file_to_stream", None) is None:
                # The body is produced after this middleware returned: keep the request's
                # analytics active while it is (a file is sent as is, sendfile and all).
                response.streaming_content = streamed_with(
                    tracked.handle,
                    response.streaming_content,
                )
        except Exception:
            log_failure("setting the cookie and carrying the request into the body")
        integration.finish(
            tracked, response.status_code, response.get("Content-Type"), page_name(request)
        )


class RequestUser:
    """The default (or a custom sync) ``USER_ID`` of one request, asked as each message
    is built: ``user_id_of(request)`` read again only when ``request.user`` is another
    object than last time (``login()``, ``logout()``, DRF or any other authentication
    replaces it), so the page call and every message carry the user as the view left it
    and the user is loaded once."""

    __slots__ = ("_request", "_seen", "_user_id_of", "_value")

    def __init__(self, request: HttpRequest, user_id_of: UserIdOf) -> None:
        self._request = request
        self._user_id_of = user_id_of
        self._seen: Any = _NOT_SEEN
        self._value: Any = None

    def __call__(self) -> Any:
        user = getattr(self._request, "user", None)
        if user is self._seen:
            return self._value
        value = self._user_id_of(self._request)
        self._seen, self._value = user, value
        return value

    async def load_session_user(self) -> None:
        """On the async path, before the view: what ``AuthenticationMiddleware``'s lazy
        user is, through ``await request.auser()`` (``request.user`` would query the
        database synchronously from the event loop). Other users are read as they come."""
        request = self._request
        user = getattr(request, "user", None)
        if user is None or not unloaded(user):
            return
        if _anonymous_by_session(request, user):
            self._seen, self._value = user, None
        elif hasattr(request, "auser") and _is_auth_middleware_user(user):
            loaded = await request.auser()
            self._seen, self._value = user, loaded.pk if loaded.is_authenticated else None
        else:  # Django 4.2 (no auser) or another authentication's lazy user
            await sync_to_async(self)()

    def needs_loading(self) -> bool:
        """True when ``request.user`` is a lazy user not read yet: reading it on the
        event loop would query the database there."""
        user = getattr(self._request, "user", None)
        return user is not self._seen and unloaded(user)


_NOT_SEEN = object()


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
    on every request: the check is the same, its answer remembered (~5 µs a request,
    CPython 3.11)."""
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
    the auth machinery (~8 µs, CPython 3.11) and leaves the session untouched, so SessionMiddleware
    adds no ``Vary: Cookie`` for it. ``login()`` replaces ``request.user``, and any other
    authentication (DRF, remote user, a custom lazy user) is not this lazy object: those
    users are always loaded."""
    if not isinstance(user, SimpleLazyObject) or not _is_auth_middleware_user(user):
        return False
    session = getattr(request, "session", None)
    return session is not None and getattr(session, "session_key", True) is None


_AUTH_MIDDLEWARE_MODULE = "django.contrib.auth.middleware"


def unloaded(user: Any) -> bool:
    """True for a lazy user (``SimpleLazyObject``, as ``AuthenticationMiddleware`` sets)
    not loaded yet. Reads Django's ``LazyObject._wrapped`` (pinned by a test on the
    oldest and newest Django)."""
    return isinstance(user, LazyObject) and user.__dict__.get("_wrapped") is empty


def _is_auth_middleware_user(user: Any) -> bool:
    loader = user.__dict__.get("_setupfunc")
    return getattr(loader, "__module__", None) == _AUTH_MIDDLEWARE_MODULE


def answered_by(request: HttpRequest, view: Callable[..., Any]) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.func is view


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
