"""A real Django project for the adapter's tests: settings configured once per process,
URLs and views in this folder, an in-memory SQLite database with the auth tables."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings

from segment_web.web.integration import Integration
from tests.support.recording_server import RecordingServer

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "segment_web.django.SegmentMiddleware",
]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="segment-web-tests",
        ALLOWED_HOSTS=["testserver", "shop.example"],
        ROOT_URLCONF="tests.django.urls",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "segment_web.django",
        ],
        MIDDLEWARE=MIDDLEWARE,
        # One connection in the test's thread; async tests run through async_to_sync so
        # Django's thread-sensitive database calls come back to this thread.
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast, tests only
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        SEGMENT={},  # no write key: the fixtures below point it at the recording server
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)

from segment_web.django import get_integration  # noqa: E402  (needs the app registry)

WRITE_KEY = "django-test-key"


@pytest.fixture
def use_segment(server: RecordingServer) -> Iterator[Callable[..., Integration]]:
    """``use_segment(**SEGMENT keys)``: the app's integration, sending to ``server``
    at once (FLUSH_AT 1), one batch at a time (MAX_IN_FLIGHT 1: the tests read messages
    in call order, which is not promised across batches in flight at once); the
    settings in force before come back after the test."""
    with contextlib.ExitStack() as stack:

        def use(**options: Any) -> Integration:
            values = {
                "WRITE_KEY": WRITE_KEY,
                "HOST": server.url,
                "FLUSH_AT": 1,
                "MAX_IN_FLIGHT": 1,
                **options,
            }
            stack.enter_context(override_settings(SEGMENT=values))
            return get_integration()

        yield use


@pytest.fixture
def segment(use_segment: Callable[..., Integration]) -> Integration:
    """The app's integration with the test defaults, pointed at ``server``."""
    return use_segment()
