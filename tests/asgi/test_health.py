"""The middleware's health route (``health_path``)."""

from __future__ import annotations

from starlette.testclient import TestClient

from segment_web.asgi import SegmentMiddleware
from tests.asgi.apps import starlette_app
from tests.support.health import MAX_FAILING, run_health_scenario
from tests.support.recording_server import RecordingServer


def test_the_health_route(server: RecordingServer, middlewares: list[SegmentMiddleware]) -> None:
    app = SegmentMiddleware(
        starlette_app(),
        write_key="asgi-health-key",
        host=server.url,
        flush_at=1,
        max_retries=0,
        error_handler=lambda error: None,
        health_path="/segment/health",
        health_max_failing=MAX_FAILING,
    )
    middlewares.append(app)
    with TestClient(app) as http:

        def get() -> tuple[int, dict]:
            response = http.get("/segment/health")
            assert response.headers["content-type"] == "application/json"
            assert response.headers["cache-control"] == "no-store"
            return response.status_code, response.json()

        run_health_scenario(get, app.client, server)
        # other paths still reach the app; POST to the health path too
        assert http.get("/").status_code == 200
        assert http.post("/segment/health").status_code != 200


def test_no_health_route_unless_asked(
    server: RecordingServer, middlewares: list[SegmentMiddleware]
) -> None:
    app = SegmentMiddleware(starlette_app(), write_key="k", host=server.url)
    middlewares.append(app)
    with TestClient(app) as http:
        assert http.get("/segment/health").status_code == 404
