"""The extension's health route (``SEGMENT_HEALTH_PATH``)."""

from __future__ import annotations

from segment_web.flask import integration_of
from tests.flask.conftest import MakeApp
from tests.support.health import MAX_FAILING, run_health_scenario
from tests.support.recording_server import RecordingServer


def test_the_health_route(make_app: MakeApp, server: RecordingServer) -> None:
    app = make_app(
        config={
            "SEGMENT_HEALTH_PATH": "/segment/health",
            "SEGMENT_HEALTH_MAX_FAILING": MAX_FAILING,
            "SEGMENT_MAX_RETRIES": 0,
        },
        error_handler=lambda error: None,
    )
    http = app.test_client()

    def get() -> tuple[int, dict]:
        response = http.get("/segment/health")
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers  # a probe gets no anonymous id
        return response.status_code, response.get_json()

    run_health_scenario(get, integration_of(app).client, server)


def test_no_health_route_unless_asked(make_app: MakeApp) -> None:
    assert make_app().test_client().get("/segment/health").status_code == 404
