"""Segment analytics for Flask: a Flask extension (``pip install "segment-web[flask]"``).

Usage::

    from flask import Flask, request, session
    from segment_web.flask import Segment, analytics

    app = Flask(__name__)
    app.config["SEGMENT_WRITE_KEY"] = "YOUR_WRITE_KEY"
    segment = Segment(app, user_id=lambda: session.get("user_id"))
    # or, with an app factory: segment = Segment(); ...; segment.init_app(app)

    @app.post("/signup")
    def signup():
        analytics.track(event="Signed Up", properties={"plan": "free"})
        ...

Settings are the app's config keys ``SEGMENT_`` + the upper-case option name; keyword
arguments to ``Segment(...)`` / ``init_app(...)`` override them. ``init_app`` raises
``ValueError`` naming every bad key. The request's handle is ``analytics`` (a proxy,
like ``flask.request``), ``g.analytics`` or ``segment_web.track(...)``; outside
requests use ``app.extensions["segment"]``.

Documentation: ``docs/frameworks/flask.md`` (what is captured, verifying the setup);
every ``SEGMENT_*`` key in ``docs/reference/options.md``.
"""

from __future__ import annotations

from segment_web.flask.extension import Segment, analytics, integration_of

__all__ = ["Segment", "analytics", "integration_of"]
