"""Segment analytics for Django: an app, a middleware, and system checks.

Usage (``pip install segment-web[django]``)::

    # settings.py
    INSTALLED_APPS += ["segment_web.django"]
    MIDDLEWARE += ["segment_web.django.SegmentMiddleware"]  # below AuthenticationMiddleware
    SEGMENT = {"WRITE_KEY": "..."}  # or the SEGMENT_WRITE_KEY environment variable

    # a view
    def checkout(request):
        request.analytics.track(event="Order Completed", properties={"total": 42})
        segment_web.track(event="Order Completed")  # the same handle, module-level

The app builds one client from ``settings.SEGMENT`` in ``AppConfig.ready()``. It is an
ordinary ``segment_web.Analytics``, so the core flushes it at interpreter exit (bounded
by ``SHUTDOWN_TIMEOUT``); under WSGI servers that is the flush at shutdown.
``get_integration().client`` is that client, for use outside requests (management
commands, tasks). ``reload_integration()`` rebuilds it from the current settings;
``override_settings(SEGMENT=...)`` does so by itself, which is how tests point it at a
local server.

Settings (keys of ``SEGMENT``, default in brackets; a bad value keeps its default and
is reported by the system checks). This table is generated from
``segment_web.web.settings.OPTIONS``; ``USER_ID`` is ``fn(request)``, and it and
``ERROR_HANDLER`` may be dotted paths::

<options table>

What each request gives its messages (explicit arguments win): ``userId`` (
``request.user.pk`` as it is when each message is built — a session login, ``login()``,
``RemoteUserMiddleware``, DRF or any other authentication that sets ``request.user`` —,
loaded only when a message needs it and read again only when ``request.user`` was
replaced; under ASGI the session user through ``await request.auser()`` before the view;
``segment_web.identify_request(user_id)`` overrides it for the rest of the request),
``anonymousId`` (the ``ajs_anonymous_id`` cookie,
or a new id set as that cookie: SameSite=Lax, one year, readable by analytics.js),
``context.ip`` (X-Forwarded-For, Forwarded, X-Real-IP only from ``FORWARDED_ALLOW_IPS``),
``context.userAgent``, ``context.locale``, ``context.page`` (url, path, referrer,
search), ``context.campaign`` (utm_*); with the privacy settings, ``context.ip``
masked (``ANONYMIZE_IP``) and ``context.consent`` / ``integrations`` from ``CONSENT``
(given the ``HttpRequest``), ``CONSENT_COOKIE`` and ``GPC_CATEGORIES`` (README,
"Privacy"). A successful ``GET`` answered with ``text/html``
sends one ``page`` call named after the URL name (``"ns:name"``) or the view.
A custom ``USER_ID`` is asked as each message is built (read again when
``request.user`` was replaced); under ASGI it runs on the event loop, so it must not
query the database, or it is an ``async def`` awaited once per request (bounded by
``USER_ID_TIMEOUT``; refused when the middleware runs in a sync chain). A streamed body
(``StreamingHttpResponse``) keeps the request's analytics while it is produced.

Analytics never breaks a request: a failure of this adapter is logged on the
``segment_web`` logger and the response goes on; exceptions from views propagate as usual.

System checks (``manage.py check``), stable ids:

- ``segment_web.W001``: no write key: the site runs, analytics sends nothing.
- ``segment_web.W002``: an unknown key in ``SEGMENT`` (ignored).
- ``segment_web.W003``: ``SegmentMiddleware`` is above ``AuthenticationMiddleware``, so
  messages cannot carry the user id.
- ``segment_web.W004``: ``SEGMENT`` is not a dict (all options at their defaults).
- ``segment_web.W005``: an option has an invalid value (that option at its default).
- ``segment_web.W006``: ``USER_ID``/``ERROR_HANDLER`` dotted path cannot be imported.
- ``segment_web.W007``: the client refuses the options (it runs with defaults but for
  ``WRITE_KEY``, ``HOST`` and ``ENABLE``).
- ``segment_web.W008``: running under uWSGI without ``--enable-threads``: nothing would
  be delivered.

All are Warnings: a bad setting falls back to its default and never stops
``runserver``, ``migrate`` or the site (silence one with ``SILENCED_SYSTEM_CHECKS``).
W004 to W007 were the Errors E001 to E004 before.

Outside requests: the app's client also becomes the module-level default when the app
starts (unless ``segment_web.configure()`` set one), so ``segment_web.track()`` works in
management commands and tasks; ``get_integration().client`` is the same client.
"""

from __future__ import annotations

from segment_web.django.apps import get_integration, reload_integration
from segment_web.django.middleware import SegmentMiddleware
from segment_web.web.settings import with_options_table

__doc__ = with_options_table(
    __doc__,
    str.upper,
    write_key="$SEGMENT_WRITE_KEY",
    user_id="request.user.pk if logged in",
)

__all__ = ["SegmentMiddleware", "get_integration", "reload_integration"]
