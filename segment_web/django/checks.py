"""System checks: the settings problems found when the integration was built, and the
middleware order. Ids (stable): see the table in ``segment_web.django``'s docstring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks

from segment_web.django.conf import (
    APP_LABEL,
    DISABLED_IN_PRODUCTION,
    MIDDLEWARE_ORDER,
    UWSGI_WITHOUT_THREADS,
)
from segment_web.process.uwsgi import FIX, PROBLEM, threads_disabled

MIDDLEWARE_PATH = "segment_web.django.SegmentMiddleware"
MIDDLEWARE_PATHS = (MIDDLEWARE_PATH, "segment_web.django.middleware.SegmentMiddleware")
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def check_segment(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    config = apps.get_app_config(APP_LABEL)  # registered by that app, so installed
    if app_configs is not None and config not in app_configs:
        return []
    found: list[Any] = []
    for issue in config.issues:
        kind = checks.Error if issue.fatal else checks.Warning
        found.append(kind(issue.message, hint=issue.hint, obj=config.name, id=issue.id))
    if _listed_above_auth(list(getattr(settings, "MIDDLEWARE", None) or ())):
        found.append(
            checks.Warning(
                f"{MIDDLEWARE_PATH} comes before {AUTH_MIDDLEWARE_PATH}: "
                "messages will not carry the logged-in user's id",
                hint=f"Move {MIDDLEWARE_PATH} below {AUTH_MIDDLEWARE_PATH} in MIDDLEWARE.",
                obj=config.name,
                id=MIDDLEWARE_ORDER,
            )
        )
    if not config.integration.settings.enable and not settings.DEBUG:
        found.append(
            checks.Warning(
                "ENABLE is False in SEGMENT while DEBUG is False: analytics sends nothing",
                hint="Remove ENABLE (or set it True) in production settings.",
                obj=config.name,
                id=DISABLED_IN_PRODUCTION,
            )
        )
    if threads_disabled():
        found.append(checks.Warning(PROBLEM, hint=FIX, obj=config.name, id=UWSGI_WITHOUT_THREADS))
    return found


def _listed_above_auth(middleware: list[str]) -> bool:
    ours = [i for i, path in enumerate(middleware) if path in MIDDLEWARE_PATHS]
    auth = [i for i, path in enumerate(middleware) if path == AUTH_MIDDLEWARE_PATH]
    return bool(ours and auth) and ours[0] < auth[0]
