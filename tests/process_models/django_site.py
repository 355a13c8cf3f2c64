"""A one-file Django project served by real servers in these tests.

Configured from the environment: ``SEGMENT_TEST_HOST`` (the recording server) and
``SEGMENT_TEST_FLUSH_ON_SIGNALS`` ("0" to opt out). Batches are large and slow to fill,
so events stay queued until something flushes them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def track(request: HttpRequest) -> HttpResponse:
    count = int(request.GET.get("n", "1"))
    for number in range(count):
        request.analytics.track(  # type: ignore[attr-defined]
            event="Served", properties={"request": request.GET.get("id"), "number": number}
        )
    return JsonResponse({"pid": os.getpid()})


def held(request: HttpRequest) -> HttpResponse:
    """Track one event, then answer only once the file ``release`` names exists (at most
    30 s): a request still being served when the server is told to stop. ``entered``
    names a file created once the event is tracked."""
    request.analytics.track(  # type: ignore[attr-defined]
        event="Served", properties={"request": request.GET.get("id"), "number": 0}
    )
    Path(request.GET["entered"]).touch()
    release = Path(request.GET["release"])
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return JsonResponse({"pid": os.getpid()})


def check_ids(request: HttpRequest) -> HttpResponse:
    """The ids of the system check messages, as found inside this very process."""
    from django.core import checks

    return JsonResponse({"ids": [message.id for message in checks.run_checks()]})


urlpatterns = [path("track", track), path("held", held), path("checks", check_ids)]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="segment-web-process-model-tests",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["segment_web.django"],
        MIDDLEWARE=["segment_web.django.SegmentMiddleware"],
        DATABASES={},
        SEGMENT={
            "WRITE_KEY": "process-models",
            "HOST": os.environ["SEGMENT_TEST_HOST"],
            "FLUSH_AT": 500,
            "FLUSH_INTERVAL": 600.0,
            "AUTO_PAGE": False,
            "FLUSH_ON_SIGNALS": os.environ.get("SEGMENT_TEST_FLUSH_ON_SIGNALS", "1") == "1",
        },
    )
    django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_asgi_application()
wsgi_application = get_wsgi_application()
