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
is reported by the system checks)::

    WRITE_KEY [$SEGMENT_WRITE_KEY]     source write key; without one nothing is sent
    HOST [https://api.segment.io]      tracking API endpoint (region, self-hosted)
    FLUSH_AT [20]                      messages per batch
    FLUSH_INTERVAL [10.0]              seconds before a partial batch is sent
    ENABLE [True]                      False: calls validate, nothing is sent
    ERROR_HANDLER [None]               fn(exc), or its dotted path, for failed batches
    MAX_QUEUE_SIZE [10000]             messages held at most
    MAX_RETRIES [10]                   retries per batch
    TIMEOUT [15.0]                     seconds per HTTP request
    GZIP [True]                        compress batches
    SHUTDOWN_TIMEOUT [5.0]             seconds the exit-time flush may take
    AUTO_PAGE [True]                   page call for successful HTML GETs
    PAGE_EXCLUDE [static, health…]     regexes of whole paths with no page call
    ANONYMOUS_ID_COOKIE [ajs_anonymous_id]  the analytics.js cookie
    SET_ANONYMOUS_ID_COOKIE [True]     set it when the request had none
    ANONYMOUS_ID_COOKIE_DOMAIN [None]  its Domain attribute
    ANONYMOUS_ID_COOKIE_MAX_AGE [31536000]  its Max-Age (one year)
    CAPTURE_IP [True]                  send context.ip
    FORWARDED_ALLOW_IPS [127.0.0.1,::1]  proxies whose X-Forwarded-For is believed; "*": all
    USER_ID [request.user.pk if logged in]  fn(request), or its dotted path

What each request gives its messages (explicit arguments win): ``userId`` (the
logged-in user, loaded only when a message needs it; under ASGI through ``await
request.auser()`` before the view), ``anonymousId`` (the ``ajs_anonymous_id`` cookie,
or a new id set as that cookie: SameSite=Lax, one year, readable by analytics.js),
``context.ip`` (X-Forwarded-For only from ``FORWARDED_ALLOW_IPS`` peers),
``context.userAgent``, ``context.locale``, ``context.page`` (url, path, referrer,
search), ``context.campaign`` (utm_*). A successful ``GET`` answered with ``text/html``
sends one ``page`` call named after the URL name (``"ns:name"``) or the view.
After ``login()``/``logout()`` in a view the page call carries the new user; in a sync
view so do the messages sent after it. In an async view, call
``request.analytics.identify(user_id=...)`` after ``alogin()`` for the messages that
follow it in that request. Under ASGI a custom ``USER_ID`` is called from the event
loop, so it must not query the database (``request.user`` does, unless loaded).

Analytics never breaks a request: a failure of this adapter is logged on the
``segment_web`` logger and the response goes on; exceptions from views propagate as usual.

System checks (``manage.py check``), stable ids:

- ``segment_web.E001``: ``SEGMENT`` is not a dict (all options at their defaults).
- ``segment_web.E002``: an option has an invalid value (that option at its default).
- ``segment_web.E003``: ``USER_ID``/``ERROR_HANDLER`` dotted path cannot be imported.
- ``segment_web.E004``: the client refuses the options (it runs with defaults but for
  ``WRITE_KEY``, ``HOST`` and ``ENABLE``).
- ``segment_web.W001``: no write key: the site runs, analytics sends nothing.
- ``segment_web.W002``: an unknown key in ``SEGMENT`` (ignored).
- ``segment_web.W003``: ``SegmentMiddleware`` is above ``AuthenticationMiddleware``, so
  messages cannot carry the user id.
- ``segment_web.W004``: running under uWSGI without ``--enable-threads``: nothing would
  be delivered.
"""

from __future__ import annotations

from .apps import get_integration, reload_integration
from .middleware import SegmentMiddleware

__all__ = ["SegmentMiddleware", "get_integration", "reload_integration"]
