"""The benchmarked app: an HTML page and a JSON endpoint that tracks one event."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from benchmarks.adapter_bench import PAGE_HTML, cart_properties


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE_HTML)


def cart(request: HttpRequest) -> JsonResponse:
    handle = getattr(request, "analytics", None)  # absent without the middleware
    if handle is not None:
        handle.track(event="Product Added", properties=cart_properties())
    return JsonResponse({"ok": True, "items": 3})


urlpatterns = [
    path("", page, name="home"),
    path("api/cart", cart, name="cart"),
]
