"""The right user on every event of a Django site served by real servers, ASGI
(uvicorn) and WSGI (gunicorn) alike: the session user, a DRF token user beside another
user's session, an async view's own authentication, and streamed bodies; counted on the
recording server."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.django.helpers import ADA_TOKEN
from tests.process_models.servers import ChildProcess, free_port
from tests.support.recording_server import RecordingServer

pytestmark = pytest.mark.slow


def server_command(kind: str, port: int) -> list[str]:
    site = "tests.django.served_site"
    if kind == "asgi":
        return [sys.executable, "-m", "uvicorn", f"{site}:application", "--port", str(port),
                "--log-level", "warning"]  # fmt: skip
    return [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
            f"{site}:wsgi_application"]  # fmt: skip


class Site:
    def __init__(self, base: str, users: dict[str, int], server: RecordingServer) -> None:
        self.base = base
        self.users = users
        self.server = server

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        """Status, headers and the whole body of a GET."""
        request = urllib.request.Request(self.base + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()

    def session_of(self, username: str) -> str:
        """A Cookie header with a session of ``username``."""
        _, headers, _ = self.get(f"/login?username={username}")
        cookies = [c.split(";")[0] for c in headers.get_all("Set-Cookie")]
        (session,) = [c for c in cookies if c.startswith("sessionid=")]
        return session

    def messages_of(self, request_id: str, count: int) -> dict[str, dict[str, Any]]:
        """The ``count`` messages of request ``?id=request_id``: events by name, the
        automatic page as ``"page"``."""

        def ours(message: dict[str, Any]) -> bool:
            if message["type"] == "page":
                return message["context"]["page"]["search"] == f"?id={request_id}"
            return message.get("properties", {}).get("request") == request_id

        messages = self.server.wait_matching(ours, count)
        assert len(messages) == count, messages
        return {m.get("event") or m["type"]: m for m in messages}


@pytest.fixture(params=["asgi", "wsgi"])
def site(request: pytest.FixtureRequest, server: RecordingServer, tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    env = {"SEGMENT_TEST_HOST": server.url, "SEGMENT_TEST_DB": str(tmp_path / "site.sqlite3")}
    child = ChildProcess(server_command(request.param, port), env)
    try:
        base = f"http://127.0.0.1:{port}"
        child.wait_http(f"{base}/ready")
        with urllib.request.urlopen(f"{base}/ready", timeout=10) as response:
            users = json.load(response)
        yield Site(base, users, server)
    finally:
        child.close()


def user_ids(messages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: message.get("userId") for name, message in messages.items()}


def test_the_session_user_is_on_every_message(site: Site) -> None:
    cookie = site.session_of("bob")
    site.get("/session/?id=s1", {"Cookie": cookie})
    bob = str(site.users["bob"])
    assert user_ids(site.messages_of("s1", 2)) == {"Session Page": bob, "page": bob}


def test_a_drf_token_user_wins_over_another_user_s_session(site: Site) -> None:
    cookie = site.session_of("bob")
    headers = {"Cookie": cookie, "Authorization": f"Token {ADA_TOKEN}"}
    site.get("/token/?id=t1", headers)
    ada, bob = str(site.users["ada"]), str(site.users["bob"])
    # Before DRF authenticated, the framework knew the session user; after, the token's.
    assert user_ids(site.messages_of("t1", 3)) == {
        "Before Authentication": bob,
        "Token Page": ada,
        "page": ada,
    }


def test_a_drf_token_user_without_a_session_is_not_frozen_at_the_first_message(
    site: Site,
) -> None:
    site.get("/token/?id=t2", {"Authorization": f"Token {ADA_TOKEN}"})
    ada = str(site.users["ada"])
    assert user_ids(site.messages_of("t2", 3)) == {
        "Before Authentication": None,
        "Token Page": ada,
        "page": ada,
    }


def test_an_async_view_s_own_authentication_is_read(site: Site) -> None:
    cookie = site.session_of("bob")
    site.get("/custom/?id=c1", {"Cookie": cookie, "X-Test-User": "ada"})
    ada, bob = str(site.users["ada"]), str(site.users["bob"])
    assert user_ids(site.messages_of("c1", 3)) == {
        "Before Custom Auth": bob,
        "Custom Auth Page": ada,
        "page": ada,
    }


@pytest.mark.parametrize("path", ["/stream/", "/stream-async/"])
def test_a_streamed_body_tracks_with_the_request_s_user(site: Site, path: str) -> None:
    cookie = site.session_of("bob")
    status, _, body = site.get(f"{path}?id=st", {"Cookie": cookie})
    assert (status, body) == (200, b"<!doctype html><p>streamed</p>")
    event = "Streamed Part" if path == "/stream/" else "Async Streamed Part"
    messages = site.messages_of("st", 2)
    assert set(messages) == {event, "page"}
    assert messages[event]["userId"] == str(site.users["bob"])
    assert messages[event]["anonymousId"] == messages["page"]["anonymousId"]
