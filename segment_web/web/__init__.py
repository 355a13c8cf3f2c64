"""The shared request layer: framework-free, one job per module.

An adapter (``segment_web.django``, ``flask``, ``asgi``) only turns its request into
``RequestFacts``; everything Segment-specific is decided here, once, for all three::

    facts.py         RequestFacts: method, host, path…; header(name) / cookie(name), lazily
    wsgi.py          header lookups straight from a WSGI environ (Django, Flask)
    limits.py        bounds on request-derived values (a message never grows too big)
    anonymous_id.py  the analytics.js cookie: read, validate, make, set
    proxies.py       trusted proxies: X-Forwarded-For, Forwarded, X-Real-IP → client address
    privacy.py       what a request may reveal (context.ip today)
    pages.py         context.page and the automatic page decision
    context.py       RequestRules: facts → the Segment context of the request's messages
    tracked_request.py  TrackedRequest: one request from start (handle) to finish
                     (cookie, page)
    integration.py   the per-app holder, and the boundary that keeps failures out of
                     responses
    settings.py      the adapters' settings: the client's options plus the web options

The per-request handle itself (``RequestAnalytics``, ``activate()``, the context
variable) is ``segment_web.core.handle``: the module-level calls use it outside any
framework.
"""
