"""A Flask shop with sign-up, login, product pages and a cart, sending analytics.

Two lines wire analytics in (``Segment(app)`` and the config keys); page views are
sent by the extension itself, the rest is ``analytics.identify``/``track`` in views.
"""

from __future__ import annotations

from flask import Flask, abort, request, session

from example_projects.shop import COLLECTOR, PRODUCTS, render, write_key
from segment_web.flask import Segment, analytics


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="example-only",
        SEGMENT_WRITE_KEY=write_key("flask"),
        SEGMENT_HOST=COLLECTOR,
        SEGMENT_FLUSH_AT=1,  # development: send each call at once
    )
    Segment(app, user_id=lambda: session.get("user"))

    @app.get("/")
    def home() -> str:
        return render("Flask shop", "<p>Welcome!</p>", session.get("user"))

    @app.get("/products/<pid>")
    def product(pid: str) -> str:
        item = PRODUCTS.get(pid) or abort(404)
        return render(item["name"], f"<p>{item['price']} €</p>", session.get("user"))

    @app.post("/api/signup")
    def signup() -> dict[str, str]:
        email = request.json["email"]
        session["user"] = email
        analytics.identify(user_id=email, traits={"email": email, "plan": "free"})
        analytics.track(event="Signed Up", properties={"method": "email"})
        return {"user": email}

    @app.post("/api/login")
    def login() -> dict[str, str]:
        session["user"] = email = request.json["email"]
        analytics.track(user_id=email, event="Logged In")
        return {"user": email}

    @app.post("/api/cart")
    def add_to_cart() -> dict[str, bool]:
        pid = request.json["product"]
        item = PRODUCTS.get(pid) or abort(404)
        analytics.track(
            event="Product Added",
            properties={"product_id": pid, "name": item["name"], "price": item["price"]},
        )
        return {"ok": True}

    return app
