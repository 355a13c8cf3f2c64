"""Hostile request data through the middleware under a real uvicorn server, its bytes
as a real HTTP parser hands them on: every request answers 200 with a valid event, and
a hostile cookie is replaced. (Every adapter meets the same data through its test
client in tests/conformance/test_hostile_headers.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest
import uvicorn

from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from tests.asgi.apps import starlette_app
from tests.support.recording_server import RecordingServer
from tests.web import hostile


@pytest.fixture
def base_url(client: Analytics) -> Iterator[str]:
    """The test Starlette app behind the middleware, served by uvicorn on 127.0.0.1."""
    app = SegmentMiddleware(starlette_app(), client=client)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_long_campaign_query_still_sends_a_valid_page(
    base_url: str, client: Analytics, server: RecordingServer
) -> None:
    response = httpx.get(f"{base_url}/?{hostile.LONG_CAMPAIGN_QUERY}", timeout=30)
    assert response.status_code == 200
    client.flush(timeout=10)
    (page,) = server.wait_for(1)
    assert page["type"] == "page" and page["name"] == "home"
    hostile.assert_valid_with_a_new_id(page)
    assert page["context"]["campaign"]["source"].startswith("sss")


def test_oversized_headers_still_send_a_valid_page(
    base_url: str, client: Analytics, server: RecordingServer
) -> None:
    headers = {"User-Agent": hostile.LONG_USER_AGENT, "Referer": hostile.LONG_REFERRER}
    response = httpx.get(f"{base_url}/", headers=headers, timeout=30)
    assert response.status_code == 200
    client.flush(timeout=10)
    (page,) = server.wait_for(1)
    hostile.assert_valid_with_a_new_id(page)


def test_an_unusable_cookie_is_replaced(
    base_url: str, client: Analytics, server: RecordingServer
) -> None:
    cookie = f"{hostile.COOKIE}={hostile.SURROGATE_COOKIE}"
    response = httpx.get(f"{base_url}/click", headers={"Cookie": cookie}, timeout=30)
    assert response.status_code == 200
    client.flush(timeout=10)
    (track,) = server.wait_for(1)
    hostile.assert_valid_with_a_new_id(track)
    replaced = SimpleCookie(response.headers["set-cookie"])[hostile.COOKIE].value
    assert replaced == track["anonymousId"]


def test_a_raw_utf8_cookie_is_read_as_utf8(
    base_url: str, client: Analytics, server: RecordingServer
) -> None:
    cookie = f"{hostile.COOKIE}={hostile.UNICODE_ID}".encode()
    response = httpx.get(f"{base_url}/click", headers={"Cookie": cookie}, timeout=30)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers  # the browser's id is kept
    client.flush(timeout=10)
    (track,) = server.wait_for(1)
    assert track["anonymousId"] == hostile.UNICODE_ID
