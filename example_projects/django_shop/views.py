"""Views of the Django example shop: page views are sent by the middleware, the rest
through ``request.analytics``."""

from __future__ import annotations

import json

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from example_projects.shop import PRODUCTS, render


def _user(request: HttpRequest) -> str | None:
    return request.user.get_username() if request.user.is_authenticated else None


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render("Django shop", "<p>Welcome!</p>", _user(request)))


def product(request: HttpRequest, pid: str) -> HttpResponse:
    item = PRODUCTS.get(pid)
    if item is None:
        raise Http404
    return HttpResponse(render(item["name"], f"<p>{item['price']} €</p>", _user(request)))


@csrf_exempt  # an example JSON API; a real one would use tokens
@require_POST
def signup(request: HttpRequest) -> JsonResponse:
    email = json.loads(request.body)["email"]
    user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
    login(request, user)
    request.analytics.identify(user_id=user.pk, traits={"email": email, "plan": "free"})
    request.analytics.track(event="Signed Up", properties={"method": "email"})
    return JsonResponse({"user": email})


@csrf_exempt
@require_POST
def login_view(request: HttpRequest) -> JsonResponse:
    email = json.loads(request.body)["email"]
    user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
    login(request, user)
    request.analytics.track(user_id=user.pk, event="Logged In")
    return JsonResponse({"user": email})


@csrf_exempt
@require_POST
def add_to_cart(request: HttpRequest) -> JsonResponse:
    pid = json.loads(request.body)["product"]
    item = PRODUCTS.get(pid)
    if item is None:
        raise Http404
    request.analytics.track(
        event="Product Added",
        properties={"product_id": pid, "name": item["name"], "price": item["price"]},
    )
    return JsonResponse({"ok": True})
