"""Tracking plans through an adapter (ASGI): the request's handle and the generated
functions inside a request are checked like any call of the client."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from segment_web import PlanViolation, signals
from segment_web.asgi import SegmentMiddleware
from tests.plan.conftest import SHOP_PLAN, valid_order
from tests.plan.generated import import_module, write_modules
from tests.support.client_helpers import MakeClient, RecordSignal
from tests.support.recording_server import RecordingServer


@pytest.fixture(scope="module")
def shop_events(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_module(write_modules(tmp_path_factory.mktemp("adapter"))["shop_events"])


def shop_app(shop_events: ModuleType) -> Starlette:
    async def checkout(request: Request) -> PlainTextResponse:
        shop_events.order_completed(order_id="o1", revenue=9.5, currency="EUR")
        return PlainTextResponse("paid")

    async def broken(request: Request) -> PlainTextResponse:
        request.state.analytics.track(event="Order Completed", properties=valid_order(revenue="12"))
        return PlainTextResponse("sent")

    return Starlette(routes=[Route("/checkout", checkout), Route("/broken", broken)])


def test_raise_mode_reaches_the_view_and_valid_events_carry_the_request(
    shop_events: ModuleType, make_client: MakeClient, server: RecordingServer
) -> None:
    client = make_client(tracking_plan=SHOP_PLAN, plan_mode="raise")
    app = SegmentMiddleware(shop_app(shop_events), client=client)
    with TestClient(app) as http:
        http.cookies.set("ajs_anonymous_id", "visitor-1")
        assert http.get("/checkout").text == "paid"
        with pytest.raises(PlanViolation, match=r"properties\.revenue: '12' is not of type"):
            http.get("/broken")
    # The lifespan shutdown at the end of the ``with`` flushed the client.
    [order] = server.wait_for(1)
    assert order["event"] == "Order Completed"
    assert order["anonymousId"] == "visitor-1"  # the generated function used the handle
    assert order["context"]["page"]["path"] == "/checkout"


def test_drop_mode_keeps_the_request_going(
    shop_events: ModuleType,
    make_client: MakeClient,
    server: RecordingServer,
    record_signal: RecordSignal,
) -> None:
    dropped = record_signal(signals.message_dropped)
    client = make_client(tracking_plan=SHOP_PLAN, plan_mode="drop")
    app = SegmentMiddleware(shop_app(shop_events), client=client)
    with TestClient(app) as http:
        assert http.get("/broken").text == "sent"
        assert http.get("/checkout").text == "paid"
    assert [m["properties"]["revenue"] for m in server.wait_for(1)] == [9.5]
    [(_, kwargs)] = dropped.wait(1)
    assert kwargs["reason"] == "plan violation"
    assert kwargs["message"]["context"]["page"]["path"] == "/broken"


def test_a_plan_path_as_client_option(tmp_path: Path, make_client: MakeClient) -> None:
    client = make_client(tracking_plan=str(SHOP_PLAN), plan_mode="raise")
    with pytest.raises(PlanViolation):
        client.track(user_id="u", event="Nope")
