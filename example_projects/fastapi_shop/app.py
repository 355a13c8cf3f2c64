"""A FastAPI shop with sign-up, login, product pages and a cart, sending analytics.

One line wires analytics in (``app.add_middleware(SegmentMiddleware, ...)``). Users are
read from ``scope["user"]``, set by Starlette's AuthenticationMiddleware from a cookie;
page views are sent by the middleware, the rest through ``request.state.analytics``.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from example_projects.shop import COLLECTOR, PRODUCTS, render, write_key
from segment_web.asgi import SegmentMiddleware

SESSIONS: dict[str, str] = {}  # session token -> email; an example, not a session store


class ShopUser(SimpleUser):
    @property
    def identity(self) -> str:
        return self.username


class CookieSessions(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        email = SESSIONS.get(conn.cookies.get("session", ""))
        return (AuthCredentials(["authenticated"]), ShopUser(email)) if email else None


class Credentials(BaseModel):
    email: str


class CartItem(BaseModel):
    product: str


def signed_in(email: str) -> JSONResponse:
    token = secrets.token_urlsafe(16)
    SESSIONS[token] = email
    response = JSONResponse({"user": email})
    response.set_cookie("session", token, httponly=True, samesite="lax")
    return response


def create_app() -> FastAPI:
    app = FastAPI()

    def user(request: Request) -> str | None:
        return request.user.username if request.user.is_authenticated else None

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> str:
        return render("FastAPI shop", "<p>Welcome!</p>", user(request))

    @app.get("/products/{pid}", response_class=HTMLResponse, name="product")
    async def product(pid: str, request: Request) -> str:
        if pid not in PRODUCTS:
            raise HTTPException(404)
        item = PRODUCTS[pid]
        return render(item["name"], f"<p>{item['price']} €</p>", user(request))

    @app.post("/api/signup")
    async def signup(request: Request, body: Credentials) -> JSONResponse:
        analytics = request.state.analytics
        analytics.identify(user_id=body.email, traits={"email": body.email, "plan": "free"})
        analytics.track(event="Signed Up", properties={"method": "email"})
        return signed_in(body.email)

    @app.post("/api/login")
    async def login(request: Request, body: Credentials) -> JSONResponse:
        request.state.analytics.track(user_id=body.email, event="Logged In")
        return signed_in(body.email)

    @app.post("/api/cart")
    async def add_to_cart(request: Request, body: CartItem) -> dict[str, bool]:
        if body.product not in PRODUCTS:
            raise HTTPException(404)
        item = PRODUCTS[body.product]
        request.state.analytics.track(
            event="Product Added",
            properties={"product_id": body.product, "name": item["name"], "price": item["price"]},
        )
        return {"ok": True}

    # Segment runs inside authentication, so scope["user"] is set when it reads it.
    app.add_middleware(
        SegmentMiddleware, write_key=write_key("fastapi"), host=COLLECTOR, flush_at=1
    )
    app.add_middleware(AuthenticationMiddleware, backend=CookieSessions())
    return app
