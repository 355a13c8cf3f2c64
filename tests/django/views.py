"""Views of the test project: pages, JSON, logins, and calls through the handle."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import authenticate, login
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views import View

import segment_web

try:
    from django.contrib.auth import alogin as async_login
except ImportError:  # Django 4.2: no alogin() yet
    async_login = sync_to_async(login)

PAGE = "<!doctype html><title>shop</title><p>hello</p>"


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def article(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(PAGE)


def api_hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


def track(request: HttpRequest) -> JsonResponse:
    message_id = request.analytics.track(event="Button Clicked", properties={"button": "buy"})
    return JsonResponse({"messageId": message_id})


def module_track(request: HttpRequest) -> JsonResponse:
    message_id = segment_web.track(event="Module Tracked")
    return JsonResponse({"messageId": message_id})


def login_view(request: HttpRequest) -> JsonResponse:
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return JsonResponse({"ok": False}, status=403)
    login(request, user)
    request.analytics.track(event="Logged In")
    return JsonResponse({"ok": True})


def login_then_page(request: HttpRequest) -> HttpResponse:
    """Sends a message before logging in, then answers a page (GET, test only)."""
    request.analytics.track(event="Before Login")
    login(request, User.objects.get(username=request.GET["username"]))
    return HttpResponse(PAGE)


async def async_page(request: HttpRequest) -> HttpResponse:
    request.analytics.track(event="Async Viewed")
    segment_web.track(event="Async Module Tracked")
    return HttpResponse(PAGE)


async def async_login_then_page(request: HttpRequest) -> HttpResponse:
    user = await User.objects.aget(username=request.GET["username"])
    await async_login(request, user)
    return HttpResponse(PAGE)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"<!doctype html>", b"<p>streamed</p>"]))


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("the view failed")


class ArticleList(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE)


def user_id_from_header(request: HttpRequest) -> Any:
    """A ``USER_ID`` setting given as a dotted path."""
    return request.META.get("HTTP_X_USER")


def failing_user_id(request: HttpRequest) -> Any:
    raise RuntimeError("the user store is down")


def error_handler(error: Exception) -> None:
    """An ``ERROR_HANDLER`` setting given as a dotted path."""
