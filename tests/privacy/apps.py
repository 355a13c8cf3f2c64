"""One page per framework for the privacy tests: ``GET /privacy/`` sends a track call
through the request's handle and answers HTML (so the automatic page call follows);
``?explicit=1`` gives that call its own consent context and integrations, and
``?identify=1`` sends an identify call with an email address first.

Each framework also has a ``consent`` callable that reads the test header
``X-Test-Consent: Advertising=1,Analytics=0`` through its own request API, and refuses
(raises) anything but its framework's request object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask
from django.http import HttpRequest, HttpResponse
from django.urls import path
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse
from starlette.routing import Route

from segment_web.core.handle import RequestAnalytics

PATH = "/privacy/"
PAGE = "<!doctype html><title>privacy</title><p>hello</p>"
EVENT = "Privacy Checked"
EXPLICIT_CONTEXT = {"consent": {"categoryPreferences": {"advertising": True}}}
EXPLICIT_INTEGRATIONS = {"Hotjar": True}
CONSENT_HEADER = "X-Test-Consent"
USER_ID = "user-1"
TRAITS = {"email": "ada@example.com", "plan": "pro"}


def send_calls(handle: RequestAnalytics, query: Mapping[str, str]) -> None:
    if query.get("identify") == "1":
        handle.identify(user_id=USER_ID, traits=TRAITS)
    if query.get("explicit") == "1":
        handle.track(event=EVENT, context=EXPLICIT_CONTEXT, integrations=EXPLICIT_INTEGRATIONS)
    else:
        handle.track(event=EVENT)


def categories_from_header(value: str | None) -> dict[str, bool] | None:
    """``"Advertising=1,Analytics=0"`` → ``{"Advertising": True, "Analytics": False}``;
    no header → None (consent unknown)."""
    if value is None:
        return None
    pairs = (item.partition("=") for item in value.split(",") if item.strip())
    return {name.strip(): flag.strip() == "1" for name, _, flag in pairs}


# Django ------------------------------------------------------------------------------


def django_view(request: HttpRequest) -> HttpResponse:
    send_calls(request.analytics, request.GET)
    return HttpResponse(PAGE)


urlpatterns = [path(PATH.strip("/") + "/", django_view, name="privacy")]


def django_consent(request: Any) -> dict[str, bool] | None:
    if not isinstance(request, HttpRequest):
        raise TypeError(f"expected a Django HttpRequest, got {request!r}")
    return categories_from_header(request.headers.get(CONSENT_HEADER))


# Flask -------------------------------------------------------------------------------


def flask_app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get(PATH)
    def privacy() -> str:
        send_calls(flask.g.analytics, flask.request.args)
        return PAGE

    return app


def flask_consent(request: Any) -> dict[str, bool] | None:
    if not isinstance(request, flask.Request):
        raise TypeError(f"expected a Flask Request, got {request!r}")
    return categories_from_header(request.headers.get(CONSENT_HEADER))


# ASGI (Starlette) --------------------------------------------------------------------


async def starlette_view(request: StarletteRequest) -> HTMLResponse:
    send_calls(request.state.analytics, request.query_params)
    return HTMLResponse(PAGE)


def starlette_app() -> Starlette:
    return Starlette(routes=[Route(PATH, starlette_view, name="privacy")])


def asgi_consent(scope: Any) -> dict[str, bool] | None:
    if not isinstance(scope, dict) or scope.get("type") != "http":
        raise TypeError(f"expected an ASGI http scope, got {scope!r}")
    return categories_from_header(StarletteRequest(scope).headers.get(CONSENT_HEADER))
