"""``user_id`` resolvers: async ones awaited once and bounded where the framework is
async, refused when a sync adapter is built; failures logged once, never a 500."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import override_settings

from segment_web.django import SegmentMiddleware
from tests.conformance.drivers import DjangoDriver, Driver, FlaskDriver
from tests.support.recording_server import RecordingServer

ASYNC_ADAPTERS = ["fastapi", "litestar", "quart"]
awaited: list[Any] = []


async def user_from_header(request: Any) -> str | None:
    """An async resolver given the ASGI scope (or Django's request under ASGI)."""
    awaited.append(1)
    await asyncio.sleep(0)
    headers = request.get("headers", []) if isinstance(request, dict) else ()
    for name, value in headers:
        if name == b"x-user":
            return str(value.decode())
    return None


async def hanging_user(request: Any) -> str:
    await asyncio.sleep(60)
    return "never"


async def failing_user(request: Any) -> str:
    raise RuntimeError("the user store is down")


def user_as_dict(request: Any = None) -> Any:
    return {"id": 1}


@pytest.mark.parametrize("adapter", ASYNC_ADAPTERS, indirect=True)
def test_an_async_resolver_is_awaited_once_per_request(adapter: Driver) -> None:
    awaited.clear()
    adapter.start(user_id=user_from_header)
    assert adapter.get("/who/", headers={"X-User": "u-42"}).status == 200
    assert [m["userId"] for m in adapter.sent(2)] == ["u-42", "u-42"]
    assert awaited == [1]


@pytest.mark.parametrize("adapter", ASYNC_ADAPTERS, indirect=True)
@pytest.mark.parametrize("resolver", [hanging_user, failing_user, user_as_dict])
def test_a_failing_slow_or_wrong_resolver_logs_once_and_sends_without_a_user(
    adapter: Driver, resolver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    adapter.start(user_id=resolver, user_id_timeout=0.2)
    with caplog.at_level(logging.ERROR, logger="segment_web"):
        assert adapter.get("/who/").status == 200
    messages = adapter.sent(2)
    assert all("userId" not in m and m["anonymousId"] for m in messages)
    logged = [r for r in caplog.records if "user" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in logged]


def test_flask_resolver_returning_a_bad_value_is_logged_once(
    server: RecordingServer, no_default_client: None, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = FlaskDriver(server)
    adapter.start(user_id=user_as_dict)
    try:
        with caplog.at_level(logging.ERROR, logger="segment_web"):
            assert adapter.get("/who/").status == 200
        assert all("userId" not in m for m in adapter.sent(2))
        assert len([r for r in caplog.records if "user id" in r.getMessage()]) == 1
    finally:
        adapter.close()


def test_django_sync_middleware_refuses_an_async_user_id_when_built(
    server: RecordingServer, no_default_client: None
) -> None:
    adapter = DjangoDriver(server)
    adapter.start(user_id=f"{__name__}.user_from_header")
    try:

        def view(request: HttpRequest) -> HttpResponse:
            return HttpResponse()

        with pytest.raises(ImproperlyConfigured, match=r"SEGMENT\['USER_ID'\] is an async"):
            SegmentMiddleware(view)

        async def async_view(request: HttpRequest) -> HttpResponse:
            return HttpResponse()

        SegmentMiddleware(async_view)  # the async chain awaits it
    finally:
        adapter.close()


def test_django_under_asgi_awaits_an_async_user_id(
    server: RecordingServer, no_default_client: None
) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def header_user(request: HttpRequest) -> Any:
        awaited.append(1)
        return request.headers.get("X-User")

    awaited.clear()
    adapter = DjangoDriver(server)
    adapter.start(user_id=header_user)
    try:
        with override_settings(ROOT_URLCONF="tests.conformance.apps"):

            async def visit() -> Any:
                return await AsyncClient().get("/carry-async/", headers={"X-User": "u-9"})

            assert async_to_sync(visit)().status_code == 200
        messages = adapter.sent(2)
        assert [m["userId"] for m in messages] == ["u-9", "u-9"]
        assert awaited == [1]
    finally:
        adapter.close()
