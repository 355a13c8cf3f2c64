"""``health_view``: the client's stats as JSON, 503 once delivery has failed for
``HEALTH_MAX_FAILING`` seconds. Opt-in: ``path("segment/health", health_view)``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from segment_web.django.apps import get_integration
from segment_web.web.health import CONTENT_TYPE, health


@never_cache
@require_safe
def health_view(request: HttpRequest) -> HttpResponse:
    """The health answer of the app's client (``segment_web.web.health``)."""
    integration = get_integration()
    code, body = health(integration.client, integration.settings.health_max_failing)
    return HttpResponse(body, status=code, content_type=CONTENT_TYPE)
