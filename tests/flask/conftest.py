"""A real Flask app exercising the extension, and fixtures pointing it at the recording
server (tests/support/recording_server.py) with ``flush_at=1``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    stream_with_context,
)
from flask.typing import ResponseReturnValue

import segment_web
from segment_web.flask import Segment, analytics, integration_of
from segment_web.web.integration import Integration
from tests.support.recording_server import RecordingServer

PAGE = "<!doctype html><title>{{ title }}</title><h1>{{ title }}</h1>"

blog = Blueprint("blog", __name__, url_prefix="/blog")


@blog.get("/<slug>")
def show(slug: str) -> str:
    return render_template_string(PAGE, title=slug)


def create_app(**config: Any) -> Flask:
    """The test app; ``config`` goes into ``app.config`` before the extension is set up."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-only", **config)
    app.register_blueprint(blog)
    # Views record what they produced here, for tests about streaming.
    app.extensions["produced"] = produced = []

    @app.get("/")
    def index() -> str:
        return render_template_string(PAGE, title="Home")

    @app.get("/hello")
    def hello() -> Response:
        return Response("hello", mimetype="text/plain")

    @app.get("/api/item")
    def item() -> Response:
        analytics.track(event="Item Viewed", properties={"id": 7})
        return jsonify(id=7)

    @app.get("/events")
    def events() -> Response:
        g.analytics.track(event="From g")
        analytics.track(event="From Proxy")
        segment_web.track(event="From Module")
        same = segment_web.current() is g.analytics and analytics == g.analytics
        return Response(f"same={same}", mimetype="text/plain")

    @app.get("/async")
    async def async_view() -> Response:
        segment_web.track(event="From Async")
        return Response("ok", mimetype="text/plain")

    @app.get("/boom")
    def boom() -> str:
        analytics.track(event="Before Boom")
        raise RuntimeError("the view failed")

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterator[str]:
            for number in range(3):
                produced.append(number)
                yield f"<p>{number}</p>"

        return Response(body(), mimetype="text/html")

    @app.get("/stream-in-context")
    def stream_in_context() -> Response:
        def body() -> Iterator[str]:
            yield "<p>start</p>"
            analytics.track(event="Streamed")
            yield "<p>end</p>"

        return Response(stream_with_context(body()), mimetype="text/html")

    @app.post("/login")
    def login() -> ResponseReturnValue:
        session["user_id"] = user = request.form["user"]
        analytics.identify(user_id=user, traits={"plan": "pro"})
        return redirect("/account")

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        session.pop("user_id", None)
        return redirect("/")

    @app.get("/account")
    def account() -> str:
        analytics.track(event="Account Viewed")
        return render_template_string(PAGE, title="Account")

    return app


MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(server: RecordingServer) -> Iterator[MakeApp]:
    """``make_app(config=..., **options)``: the test app with ``Segment(app, **options)``,
    sending to the recording server one message per batch. Clients are shut down after."""
    apps: list[Flask] = []

    def make(config: dict[str, Any] | None = None, **options: Any) -> Flask:
        app = create_app(
            SEGMENT_WRITE_KEY="flask-key",
            SEGMENT_HOST=server.url,
            SEGMENT_FLUSH_AT=1,
            SEGMENT_MAX_IN_FLIGHT=1,  # the tests read messages in call order
            **(config or {}),
        )
        Segment(app, **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        integration_in(app).client.shutdown(timeout=5)


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    """Apps a test sets up by hand; their clients are shut down afterwards."""
    made: list[Flask] = []
    yield made
    for app in made:
        if "segment" in app.extensions:
            integration_in(app).client.shutdown(timeout=5)


def integration_in(app: Flask) -> Integration:
    return integration_of(app)


def delivered(app: Flask, server: RecordingServer) -> list[dict[str, Any]]:
    """Every message the app's client sent, once its queue is flushed."""
    integration_in(app).client.flush(timeout=10)
    return server.messages


def pages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for message in messages if message["type"] == "page"]
