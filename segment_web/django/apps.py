"""The Django app: builds the integration from ``settings.SEGMENT`` once, at start-up."""

from __future__ import annotations

import os
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from segment_web.django.conf import (
    APP_LABEL,
    SETTING,
    Issue,
    build_integration,
    read_settings,
)
from segment_web.web.integration import Integration


class SegmentConfig(AppConfig):  # type: ignore[misc]  # django is untyped here
    """``INSTALLED_APPS += ["segment_web.django"]``; holds the process's integration."""

    name = "segment_web.django"
    label = APP_LABEL
    verbose_name = "Segment analytics"

    integration: Integration
    issues: list[Issue]

    def ready(self) -> None:
        from segment_web.django.checks import check_segment

        self.reload()
        checks.register(check_segment)
        # override_settings(SEGMENT=...) in tests rebuilds the integration, so the
        # middleware and the checks always see the settings in force.
        setting_changed.connect(self._setting_changed, dispatch_uid="segment_web.django")

    def reload(self) -> Integration:
        """Rebuild from the current settings; the previous client is shut down (flushed)."""
        parsed, issues = read_settings(getattr(settings, SETTING, None), os.environ)
        integration = build_integration(parsed, issues)
        previous: Integration | None = getattr(self, "integration", None)
        self.integration, self.issues = integration, issues
        if previous is not None:
            previous.shutdown()
        # segment_web.track() outside requests (management commands, tasks) uses this
        # client unless segment_web.configure() set one (see the package docstring).
        integration.adopt_as_default()
        return integration

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting == SETTING:
            self.reload()


def app_config() -> SegmentConfig:
    """The installed app, or ``ImproperlyConfigured`` saying how to install it."""
    try:
        config = apps.get_app_config(APP_LABEL)
    except LookupError:
        raise ImproperlyConfigured(
            'The segment_web Django app is not installed: add "segment_web.django" '
            "to INSTALLED_APPS (SegmentMiddleware needs it)."
        ) from None
    assert isinstance(config, SegmentConfig)
    return config


def get_integration() -> Integration:
    """The running integration: ``.client`` is the ``Analytics`` client (use it outside
    requests, e.g. ``get_integration().client.flush()`` in a management command),
    ``.settings`` the parsed ``SEGMENT`` settings."""
    return app_config().integration


def reload_integration() -> Integration:
    """Rebuild the integration from the current settings and environment (a test hook:
    ``override_settings(SEGMENT=...)`` does this by itself)."""
    return app_config().reload()
