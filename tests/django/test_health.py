"""``health_view`` and the check for a client disabled in production."""

from __future__ import annotations

from collections.abc import Callable

from django.core.checks import run_checks
from django.test import Client
from django.test.utils import override_settings

from segment_web.web.integration import Integration
from tests.support.health import MAX_FAILING, run_health_scenario
from tests.support.recording_server import RecordingServer


def test_the_health_view(use_segment: Callable[..., Integration], server: RecordingServer) -> None:
    integration = use_segment(
        HEALTH_MAX_FAILING=MAX_FAILING, MAX_RETRIES=0, ERROR_HANDLER=lambda error: None
    )
    http = Client()

    def get() -> tuple[int, dict]:
        response = http.get("/segment/health")
        assert response["Content-Type"] == "application/json"
        assert "no-store" in response["Cache-Control"]
        return response.status_code, response.json()

    run_health_scenario(get, integration.client, server)
    assert http.post("/segment/health").status_code == 405


def ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("segment_web.")}


def test_disabled_in_production_is_a_warning(use_segment: Callable[..., Integration]) -> None:
    use_segment(ENABLE=False)
    assert "segment_web.W009" in ids()
    with override_settings(DEBUG=True):
        assert "segment_web.W009" not in ids()
    use_segment()
    assert "segment_web.W009" not in ids()


def test_a_probe_gets_no_anonymous_id_cookie(use_segment: Callable[..., Integration]) -> None:
    # A monitor polling the health view is no visitor; a page still gets the cookie.
    use_segment()
    http = Client()
    assert "ajs_anonymous_id" not in http.get("/segment/health").cookies
    assert "ajs_anonymous_id" in http.get("/health").cookies
