"""Segment analytics for Django: an app, a middleware, and system checks.

Usage (``pip install "segment-web[django]"``)::

    # settings.py
    INSTALLED_APPS += ["segment_web.django"]
    MIDDLEWARE += ["segment_web.django.SegmentMiddleware"]  # below AuthenticationMiddleware
    SEGMENT = {"WRITE_KEY": "..."}  # or the SEGMENT_WRITE_KEY environment variable

    # a view
    def checkout(request):
        request.analytics.track(event="Order Completed", properties={"total": 42})
        segment_web.track(event="Order Completed")  # the same handle, module-level

The app builds one client from ``settings.SEGMENT`` in ``AppConfig.ready()``;
``get_integration().client`` is that client, for use outside requests, and
``reload_integration()`` rebuilds it from the current settings
(``override_settings(SEGMENT=...)`` does so by itself). Bad settings are reported by
``manage.py check`` (ids ``segment_web.W001``-``W009``) and never stop the site.

Documentation: ``docs/frameworks/django.md`` (what is captured, verifying the setup);
every ``SEGMENT`` key in ``docs/reference/options.md``, the check ids in
``docs/reference/django-checks.md``.
"""

from __future__ import annotations

from segment_web.django.apps import get_integration, reload_integration
from segment_web.django.middleware import SegmentMiddleware
from segment_web.django.views import health_view

__all__ = ["SegmentMiddleware", "get_integration", "health_view", "reload_integration"]
