"""The health answer through each adapter (tests/support/health.py's scenario): JSON,
never cached, no cookie for a probe, 503 once delivery has failed for long enough."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conformance.apps import HEALTH
from tests.conformance.drivers import Driver
from tests.support.health import MAX_FAILING, run_health_scenario


def test_the_health_answer(adapter: Driver) -> None:
    # Django serves it where the URLconf says (tests/conformance/apps.py): HEALTH_PATH
    # is the other adapters' setting.
    adapter.start(
        health_path=HEALTH,
        health_max_failing=MAX_FAILING,
        max_retries=0,
        error_handler=lambda error: None,
    )

    def get() -> tuple[int, dict[str, Any]]:
        reply = adapter.get(HEALTH)
        assert reply.headers["content-type"] == "application/json"
        assert "no-store" in reply.headers["cache-control"]
        assert reply.cookies == {}  # a probe gets no anonymous id
        return reply.status, json.loads(reply.body)

    assert adapter.client is not None
    run_health_scenario(get, adapter.client, adapter.server)
    assert adapter.request("POST", HEALTH).status != 200
    assert adapter.get("/form/").status == 200  # other paths still reach the app


@pytest.mark.parametrize("adapter", ["flask", "asgi"], indirect=True)
def test_no_health_route_unless_asked(adapter: Driver) -> None:
    adapter.start()
    assert adapter.get(HEALTH).status == 404
