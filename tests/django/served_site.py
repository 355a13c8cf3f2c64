"""A one-file Django project with sessions, Django REST Framework and SimpleJWT, served
by real servers (uvicorn: ASGI, gunicorn: WSGI) in tests/django/test_servers.py.

Configured from the environment: ``SEGMENT_TEST_HOST`` (the recording server) and
``SEGMENT_TEST_DB`` (an SQLite file, migrated and given two users at start-up: ada, whose
DRF token is ``ADA_TOKEN``, and bob). Every message is sent at once (FLUSH_AT 1); the
tracked events carry the request's ``?id=`` so the test can tell requests apart.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

from tests.django.helpers import ADA_TOKEN

DATABASE = os.environ["SEGMENT_TEST_DB"]
PAGE = "<!doctype html><title>identity</title><p>hello</p>"

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="segment-web-identity-tests",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "rest_framework",
            "rest_framework.authtoken",
            "segment_web.django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "segment_web.django.SegmentMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATABASE}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        SIMPLE_JWT={"SIGNING_KEY": "segment-web-identity-tests-signing-key-32b"},
        SEGMENT={"WRITE_KEY": "identity", "HOST": os.environ["SEGMENT_TEST_HOST"], "FLUSH_AT": 1},
    )
    django.setup()

from django.contrib.auth import login  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from rest_framework.authentication import TokenAuthentication  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

import segment_web  # noqa: E402


def _tag(request: HttpRequest) -> dict[str, Any]:
    return {"request": request.GET.get("id", "")}


def log_in(request: HttpRequest) -> HttpResponse:
    """Logs ``?username=`` in (a GET, test only): the response sets the session cookie."""
    login(request, User.objects.get(username=request.GET["username"]))
    return JsonResponse({"ok": True})


def session_page(request: HttpRequest) -> HttpResponse:
    segment_web.track(event="Session Page", properties=_tag(request))
    return HttpResponse(PAGE)


class TokenPage(APIView):
    """DRF with token authentication only: a session of another user must not count.
    Tracks once before DRF authenticates (in ``initial``) and once in the view."""

    authentication_classes = [TokenAuthentication]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        segment_web.track(event="Before Authentication", properties=_tag(request))
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> HttpResponse:
        segment_web.track(event="Token Page", properties=_tag(request))
        return HttpResponse(PAGE)


async def _user_from_header(request: HttpRequest) -> Any:
    name = request.headers.get("X-Test-User")
    return await User.objects.aget(username=name) if name else None


async def custom_auth_page(request: HttpRequest) -> HttpResponse:
    """An async view with its own authentication: it replaces ``request.user``."""
    segment_web.track(event="Before Custom Auth", properties=_tag(request))
    user = await _user_from_header(request)
    if user is not None:
        request.user = user
    segment_web.track(event="Custom Auth Page", properties=_tag(request))
    return HttpResponse(PAGE)


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Any:
        yield b"<!doctype html><p>"
        segment_web.track(event="Streamed Part", properties=_tag(request))
        yield b"streamed</p>"

    return StreamingHttpResponse(body(), content_type="text/html")


def streamed_async(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> Any:
        yield b"<!doctype html><p>"
        segment_web.track(event="Async Streamed Part", properties=_tag(request))
        yield b"streamed</p>"

    return StreamingHttpResponse(body(), content_type="text/html")


def ready(request: HttpRequest) -> HttpResponse:
    """The users' primary keys, once the site is up."""
    return JsonResponse({user.username: user.pk for user in User.objects.all()})


urlpatterns = [
    path("ready", ready),
    path("login", log_in),
    path("session/", session_page, name="session-page"),
    path("token/", TokenPage.as_view(), name="token-page"),
    path("custom/", custom_auth_page, name="custom-page"),
    path("stream/", streamed, name="stream"),
    path("stream-async/", streamed_async, name="stream-async"),
]


def _prepare_database() -> None:
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", run_syncdb=True, verbosity=0)
    ada, _ = User.objects.get_or_create(username="ada")
    User.objects.get_or_create(username="bob")
    Token.objects.get_or_create(user=ada, key=ADA_TOKEN)


# In a thread of its own: some servers (uvicorn before 0.30) import the app from inside
# their event loop, where Django refuses database calls.
_preparing = threading.Thread(target=_prepare_database)
_preparing.start()
_preparing.join()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_asgi_application()
wsgi_application = get_wsgi_application()
