"""The middleware under ASGI: the async path, ``await request.auser()``, the handle in
async and sync views."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient

from segment_web.django import SegmentMiddleware
from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.support.file_audit import file_work_in
from tests.support.recording_server import RecordingServer

T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    # async_to_sync from this thread: Django's thread-sensitive database calls run here,
    # on the thread that owns the in-memory database.
    return async_to_sync(scenario)()


@pytest.fixture
def ada() -> User:
    user = User.objects.filter(username="ada").first()
    return user or User.objects.create_user("ada", password="lovelace")


def test_the_middleware_picks_its_path_once_from_the_chain() -> None:
    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert not iscoroutinefunction(SegmentMiddleware(sync_view))
    assert iscoroutinefunction(SegmentMiddleware(async_view))


def test_an_async_view_sends_through_the_handle_and_the_module(
    segment: Integration, server: RecordingServer
) -> None:
    async def scenario() -> Any:
        return await AsyncClient().get("/async/?utm_source=ads", headers={"user-agent": "UA/1"})

    response = run(scenario)
    assert response.status_code == 200
    viewed, module, page = sent(segment, server, 3)
    assert (viewed["event"], module["event"]) == ("Async Viewed", "Async Module Tracked")
    assert (page["type"], page["name"]) == ("page", "async-page")
    anonymous_id = response.cookies["ajs_anonymous_id"].value
    for message in (viewed, module, page):
        assert message["anonymousId"] == anonymous_id
        assert "userId" not in message
        assert message["context"]["ip"] == "127.0.0.1"
        assert message["context"]["userAgent"] == "UA/1"
        assert message["context"]["campaign"] == {"source": "ads"}
        assert message["context"]["page"]["url"] == "http://testserver/async/?utm_source=ads"


def test_a_sync_view_under_asgi_gets_the_handle(
    segment: Integration, server: RecordingServer
) -> None:
    async def scenario() -> Any:
        client = AsyncClient()
        await client.get("/track/")
        return await client.get("/module-track/")

    response = run(scenario)
    assert response.status_code == 200
    clicked, module = sent(segment, server, 2)
    assert (clicked["event"], module["event"]) == ("Button Clicked", "Module Tracked")
    assert clicked["anonymousId"] == module["anonymousId"]
    assert module["context"]["page"]["path"] == "/module-track/"


def test_the_async_path_awaits_the_user_and_sees_a_login_in_the_view(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    async def scenario() -> None:
        client = AsyncClient()
        await client.get("/async-login/?username=ada")  # alogin() inside the view
        await client.get("/async/")  # the session now names ada

    run(scenario)
    login_page, viewed, module, page = sent(segment, server, 4)
    assert login_page["type"] == "page"
    assert login_page["name"] == "async-login"
    for message in (login_page, viewed, module, page):
        assert message["userId"] == str(ada.pk)


def test_a_custom_user_id_is_used_on_the_async_path(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    integration = use_segment(USER_ID="tests.django.views.user_id_from_header")

    async def scenario() -> Any:
        return await AsyncClient().get("/async/", headers={"x-user": "u-7"})

    run(scenario)
    messages = sent(integration, server, 3)
    assert [message["userId"] for message in messages] == ["u-7"] * 3


def test_a_new_tenants_client_is_built_off_the_event_loop(
    use_segment: Callable[..., Integration], server: RecordingServer, tmp_path: Path
) -> None:
    # Building a tenant's client opens its spool (directories, files): never on the loop.
    spool = tmp_path / "spool"
    integration = use_segment(WRITE_KEY=lambda request: "tenant-key-1", SPOOL_DIR=str(spool))

    async def scenario() -> int:
        await AsyncClient().get("/async/")
        return threading.get_ident()  # the event loop's thread

    try:
        with file_work_in(spool) as seen:
            loop_thread = run(scenario)
        assert seen, "the tenant's spool was never opened"
        assert not [work for work in seen if work[2] == loop_thread], seen
        assert integration.pool is not None and len(integration.pool.clients()) == 1
    finally:
        integration.shutdown()
