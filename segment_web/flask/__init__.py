"""Segment analytics for Flask: a Flask extension (``pip install segment-web[flask]``).

Usage::

    from flask import Flask, request, session
    from segment_web.flask import Segment, analytics

    app = Flask(__name__)
    app.config["SEGMENT_WRITE_KEY"] = "YOUR_WRITE_KEY"
    segment = Segment(app, user_id=lambda: session.get("user_id"))

    # or, with an app factory:
    segment = Segment()
    def create_app():
        app = Flask(__name__)
        app.config.from_object("settings")
        segment.init_app(app)
        return app

    @app.post("/signup")
    def signup():
        user_id = create_user(request.form["email"])  # your own code
        session["user_id"] = user_id
        analytics.identify(user_id=user_id, traits={"email": request.form["email"]})
        analytics.track(event="Signed Up", properties={"plan": "free"})
        ...

Settings are the app's config keys ``SEGMENT_`` + the upper-case option name; keyword
arguments to ``Segment(...)`` / ``init_app(...)`` (snake_case) override them, and a
``None`` value means "not set". They are validated by ``init_app``: bad values raise
``ValueError`` naming every offending key; a missing write key only logs a warning and
the app runs with a disabled client (calls validate, nothing is sent).

The options (generated from ``segment_web.web.settings.OPTIONS``; ``SEGMENT_USER_ID`` is a
zero-argument callable, called in the request context). Each callable setting
(``SEGMENT_USER_ID``, ``SEGMENT_ERROR_HANDLER``, ``SEGMENT_CONSENT``,
``SEGMENT_BEFORE_SEND``, whose list may mix hooks and paths) may also be given as a
dotted path such as ``"myapp.analytics.scrub_pii"``::

<options table>

A ``SEGMENT_*`` key that is no option (most likely a misspelling) is logged as a
warning on the ``segment_web`` logger, with the closest option name when there is one.
Keys the app keeps under that prefix for itself stay quiet when listed in
``SEGMENT_IGNORE_KEYS``::

    app.config["SEGMENT_BROWSER_WRITE_KEY"] = "..."   # for analytics.js in templates
    app.config["SEGMENT_IGNORE_KEYS"] = ["SEGMENT_BROWSER_WRITE_KEY"]

With Flask-Login (not a dependency)::

    from flask_login import current_user
    Segment(app, user_id=lambda: current_user.get_id() if current_user.is_authenticated
            else None)

The user id is read once, on the request's first message; after logging a user in
during a request, call ``analytics.identify(user_id=...)`` and the rest of the
request's calls carry it.

What is captured, for every request (the handle pre-fills each message; explicit
arguments win and a given ``context`` is deep-merged over the request's):

- ``userId`` from the ``user_id`` callable; ``anonymousId`` from the analytics.js
  cookie (``%22…%22`` JSON-quoted or plain), or a new UUID that is then set as that
  cookie on the response (``Path=/``, ``SameSite=Lax``, readable by analytics.js,
  ``Secure`` over https), so browser and server events join;
- ``context.ip`` (``X-Forwarded-For``, ``Forwarded`` and ``X-Real-IP`` believed only
  from ``SEGMENT_FORWARDED_ALLOW_IPS``),
  ``context.userAgent``, ``context.locale`` (Accept-Language), ``context.page``
  (``url``, ``path``, ``search``, ``referrer``), ``context.campaign`` (utm_* parameters);
- with the privacy settings: ``context.ip`` masked (``SEGMENT_ANONYMIZE_IP``),
  ``context.consent`` and ``integrations`` from ``SEGMENT_CONSENT`` (given the Flask
  ``request``), ``SEGMENT_CONSENT_COOKIE`` and ``SEGMENT_GPC_CATEGORIES`` (README, "Privacy");
- an automatic ``page`` call, named after the endpoint (``"index"``, ``"blog.show"``
  for a blueprint), for a 2xx ``GET`` answered with ``text/html`` whose path is not
  excluded. Only the response's status and headers are read: streamed bodies stream.

The handle of the current request:

- ``from segment_web.flask import analytics`` — a proxy, like ``flask.request``
  (``RuntimeError`` outside a request);
- ``g.analytics`` — the same ``segment_web.RequestAnalytics``;
- ``segment_web.track(...)`` and the other module-level calls use it inside a request
  (a context variable, set in ``before_request`` and reset in ``teardown_request``).
  In a ``stream_with_context`` generator, which runs after the request's teardown,
  use ``analytics`` or ``g.analytics``.

Outside requests (CLI commands, jobs) use the app's client: ``segment.client`` (in an
app context) or ``app.extensions["segment"]``; each app has its own client, so
several apps in one process may use different write keys. ``init_app`` also makes the
first app's client the module-level default (unless ``segment_web.configure()`` set
one), so ``segment_web.track()`` works outside requests too.

Hooks: the extension registers ``before_request``, ``after_request`` and
``teardown_request`` on the app (hooks registered before it run first: one that returns
a response early skips analytics for that request). It patches nothing. A failure of
the extension itself is logged on the ``segment_web`` logger and the response goes on;
a view that raises keeps Flask's own error handling (its messages are already queued,
and a 500 gets no page call). Queued messages are flushed at interpreter exit (an
``atexit`` hook of the core, bounded by ``SEGMENT_SHUTDOWN_TIMEOUT``); call
``app.extensions["segment"].flush()`` to flush earlier.
"""

from __future__ import annotations

from segment_web.flask.extension import Segment, analytics, config_key, integration_of
from segment_web.web.settings import with_options_table

__doc__ = with_options_table(__doc__, config_key)

__all__ = ["Segment", "analytics", "integration_of"]
