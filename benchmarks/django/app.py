"""The benchmarked app: a hello-world view and an HTML page view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

PAGE = "<!doctype html><title>Home</title><h1>Welcome</h1>" + "<p>lorem ipsum</p>" * 50


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, world!", content_type="text/plain")


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def user_page(request: HttpRequest) -> HttpResponse:
    """An HTML page that reads request.user, as a template with the auth context
    processor does: the user is loaded with or without the middleware."""
    greeting = "Welcome back" if request.user.is_authenticated else "Welcome"
    return HttpResponse(PAGE.replace("Welcome", greeting))


urlpatterns = [
    path("hello/", hello, name="hello"),
    path("", page, name="home"),
    path("account/", user_page, name="account"),
]
