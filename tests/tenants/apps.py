"""One small app per framework: ``GET /hit/?tenant=a&n=3`` tracks ``Hit`` with those
two as properties, from inside the request (the tenant is chosen from the
``X-Tenant`` header by the write-key callables in ``drivers``)."""

from __future__ import annotations

import flask
from django.http import HttpRequest, HttpResponse
from django.urls import path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import segment_web
from segment_web.flask import Segment


def _hit(tenant: str | None, n: str | None) -> str:
    segment_web.track(event="Hit", properties={"tenant": tenant, "n": n})
    return "ok"


def django_hit(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_hit(request.GET.get("tenant"), request.GET.get("n")))


urlpatterns = [path("hit/", django_hit)]


def flask_app(config: dict[str, object]) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(config)
    Segment(app)

    @app.get("/hit/")
    def hit() -> str:
        return _hit(flask.request.args.get("tenant"), flask.request.args.get("n"))

    return app


async def _starlette_hit(request: Request) -> PlainTextResponse:
    params = request.query_params
    return PlainTextResponse(_hit(params.get("tenant"), params.get("n")))


def starlette_app() -> Starlette:
    return Starlette(routes=[Route("/hit/", _starlette_hit)])
