"""``health_view``: the client's stats as JSON, 503 once delivery has failed for
``HEALTH_MAX_FAILING`` seconds. Opt-in: ``path("segment/health", health_view)``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from segment_web.django.apps import get_integration
from segment_web.web.health import CONTENT_TYPE


def health_view(request: HttpRequest) -> HttpResponse:
    """The health answer of the app's client (``segment_web.web.health``); GET and HEAD."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    code, body = get_integration().health()
    response = HttpResponse(body, status=code, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
