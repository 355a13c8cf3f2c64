"""The Flask extension: request → facts, response → auto page (settings: ``conf.py``).

Everything Segment-specific (context, anonymous id, cookie, auto-page rules) is decided
by the shared request layer (``segment_web.web``); this module only reads Flask's request
and response into plain values and hooks the three request callbacks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, Request, Response, current_app, g, has_request_context, request
from werkzeug.local import LocalProxy

from segment_web.core.client import Analytics
from segment_web.core.handle import RequestAnalytics, current_request_analytics, streamed_with
from segment_web.flask.conf import check_option_names, read_settings
from segment_web.web.facts import RequestFacts
from segment_web.web.health import CONTENT_TYPE
from segment_web.web.integration import Integration, log_failure
from segment_web.web.tracked_request import TrackedRequest
from segment_web.web.wsgi import environ_headers

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from segment_web.web.settings import AdapterOptions

EXTENSION_KEY = "segment"  # the app's Analytics client, where users look for it
INTEGRATION_KEY = "segment_web.web.integration"  # its settings and request rules too
# Private per-request state on ``g``, next to the public ``g.analytics``: the request's
# analytics and the token that resets the context variable behind ``segment_web.current()``.
_ACTIVE = "_segment_active"
HEALTH_ENDPOINT = "segment_health"


class Segment:
    """Segment analytics for a Flask app: ``Segment(app)`` or ``Segment().init_app(app)``.

    Keyword ``options`` (snake_case shared option names) override the app's
    ``SEGMENT_*`` config; those given to ``init_app`` override those given here. Each
    app gets its own client in ``app.extensions["segment"]`` (and its ``Integration``:
    settings, client, request rules, beside it); this object keeps only the keyword
    defaults, so one ``Segment()`` may serve several apps.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        write_key: str | Callable[..., Any] | None = None,
        **options: Unpack[AdapterOptions],
    ) -> None:
        check_option_names(options)
        self._options = _given(write_key, options)
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        write_key: str | Callable[..., Any] | None = None,
        **options: Unpack[AdapterOptions],
    ) -> Integration:
        """Validate the settings, build the app's client and hook its requests.

        Raises ``ValueError`` listing every bad setting; a missing write key only logs a
        warning, and the app then runs with a disabled client.
        """
        check_option_names(options)
        if INTEGRATION_KEY in app.extensions:
            raise RuntimeError(
                f"Segment is already set up on the Flask app {app.name!r}; "
                "call init_app once per app"
            )
        # A callable write key (or host) is called in the request context, like user_id.
        arguments = {**self._options, **_given(write_key, options)}
        integration = Integration(read_settings(app, arguments), zero_arg=True)
        app.extensions[EXTENSION_KEY] = integration.client
        app.extensions[INTEGRATION_KEY] = integration
        # segment_web.track() outside requests (CLI commands, jobs) uses this client
        # unless segment_web.configure() or an earlier app set one (see the docstring).
        integration.adopt_as_default()
        hooks = _RequestHooks(integration)
        app.before_request(hooks.before_request)
        app.after_request(hooks.after_request)
        app.teardown_request(hooks.teardown_request)
        if integration.settings.health_path is not None:
            app.add_url_rule(
                integration.settings.health_path,
                endpoint=HEALTH_ENDPOINT,
                view_func=functools.partial(_health, integration),
            )
        return integration

    @property
    def client(self) -> Analytics:
        """The current app's client (needs an app context), e.g. for CLI commands."""
        return integration_of(current_app).client

    def __repr__(self) -> str:
        return f"<Segment options={sorted(self._options)}>"


def _given(write_key: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments given: ``options``, and ``write_key`` unless it is None
    (not given: the app's config or an earlier ``Segment(...)`` supplies it)."""
    return dict(options) if write_key is None else {**options, "write_key": write_key}


def _health(integration: Integration) -> Response:
    code, body = integration.health()
    response = Response(body, status=code, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def integration_of(app: Flask) -> Integration:
    """The app's ``Integration``; ``LookupError`` naming the app when it has none."""
    try:
        integration: Integration = app.extensions[INTEGRATION_KEY]
        return integration
    except KeyError:
        raise LookupError(
            f"Segment is not set up on the Flask app {app.name!r}: call Segment(app) "
            "or segment.init_app(app) first"
        ) from None


def request_facts(req: Request) -> RequestFacts:
    """What the shared layer needs from a Flask request, as plain strings."""
    return RequestFacts(
        method=req.method,
        scheme=req.scheme,
        host=req.host,
        # What the browser sees: the mount point (SCRIPT_NAME) included, as in Django.
        path=req.root_path + req.path,
        query_string=req.query_string.decode("latin-1"),
        peer=req.remote_addr,
        header=environ_headers(req.environ),
        cookie=lambda name: _from_wsgi(req.cookies.get(name)),
        request=req,
    )


def _from_wsgi(value: str | None) -> str | None:
    """A cookie value as Django reads it. A WSGI server hands headers over as Latin-1
    text (PEP 3333) and Werkzeug leaves cookie values so, where Django decodes them as
    UTF-8: ``Ã¼nÃ¯`` becomes ``ünï`` here too. Text that is no such encoding (a test
    client may pass Unicode through as is) stays as it is."""
    if value is None or value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class _RequestHooks:
    """One app's ``before_request``/``after_request``/``teardown_request`` callbacks,
    bound to its ``Integration`` (so a request needs no lookup to find it)."""

    __slots__ = ("integration",)

    def __init__(self, integration: Integration) -> None:
        self.integration = integration

    def before_request(self) -> None:
        try:
            integration = self.integration
            # The objects behind Flask's proxies, resolved once: this runs on every request.
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
            if req.endpoint == HEALTH_ENDPOINT:  # a probe: no handle, no cookie, no page
                return
            tracked = integration.start(request_facts(req), integration.settings.user_id)
            if tracked is None:
                return
            ctx_g = g._get_current_object()
            ctx_g.analytics = tracked.handle
            # Flask runs a request's callbacks and view in one context (async views get
            # a copy), so the token set here is reset by teardown_request in that same
            # context, as Flask's own request context variable is.
            token = current_request_analytics.set(tracked.handle)
            setattr(ctx_g, _ACTIVE, (tracked, token, req))
        except Exception:
            log_failure("starting the request's analytics")

    def after_request(self, response: Response) -> Response:
        active: tuple[TrackedRequest, Any, Request] | None = g.get(_ACTIVE)
        if active is None:  # an earlier before_request hook answered, or start failed
            return response
        tracked, _, req = active
        try:
            cookie = tracked.cookie()
            if cookie is not None:
                response.set_cookie(**cookie.kwargs())
        except Exception:
            log_failure("setting the anonymous-id cookie")
        if response.is_streamed:
            # The body is made after the request's callbacks ran (``stream_with_context``
            # or not): the request's analytics stays active while it is.
            try:
                response.response = streamed_with(tracked.handle, response.response)
            except Exception:
                log_failure("carrying the request into the streamed body")
        # Only the status and headers are read: a streamed body stays unread.
        self.integration.finish(tracked, response.status_code, response.content_type, req.endpoint)
        return response

    def teardown_request(self, error: BaseException | None) -> None:
        # Runs whatever happened, raised views included. ``g.analytics`` stays: a
        # ``stream_with_context`` generator still uses it after this first teardown.
        try:
            active = g.pop(_ACTIVE, None)
            if active is not None:
                current_request_analytics.reset(active[1])
        except Exception:
            log_failure("ending the request's analytics")


def _request_handle() -> RequestAnalytics:
    handle = g.get("analytics") if has_request_context() else None
    if not isinstance(handle, RequestAnalytics):
        raise RuntimeError(
            "segment_web.flask.analytics is only available during a request of a Flask app "
            "set up with Segment(app) (outside one, use segment.client or segment_web.track)"
        )
    return handle


# The current request's handle. RuntimeError outside a request, like flask.request.
analytics = cast(RequestAnalytics, LocalProxy(_request_handle))
