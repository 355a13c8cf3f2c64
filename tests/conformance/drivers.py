"""Every adapter behind one small interface, so each conformance scenario is written once
and run through Django, Flask and ASGI alike (and, where a scenario is about the app's
own code, the ASGI frameworks the middleware serves: FastAPI, Litestar, Quart): real
apps (tests/conformance/apps.py), their own test clients, options in each adapter's own
spelling, messages read off the recording server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import Client as DjangoClient
from django.test.utils import override_settings
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from segment_web import Analytics
from segment_web.asgi import SegmentMiddleware
from segment_web.django import get_integration
from segment_web.flask import integration_of
from segment_web.web.integration import Integration
from tests.conformance import apps
from tests.django.conftest import WRITE_KEY
from tests.support.recording_server import RecordingServer
from tests.web.hostile import as_wsgi

PEER = "198.51.100.23"
HOST = "shop.example"

Headers = Mapping[str, str | bytes]


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]  # names in lower case; Set-Cookie is in ``cookies``
    cookies: dict[str, Morsel[str]]  # what Set-Cookie set: name -> its value and attributes

    @classmethod
    def of(cls, status: int, body: bytes, headers: Iterable[tuple[str, str]]) -> Reply:
        jar: SimpleCookie = SimpleCookie()
        plain = {}
        for name, value in headers:
            if name.lower() == "set-cookie":
                jar.load(value)
            else:
                plain[name.lower()] = value
        return cls(int(status), body, plain, dict(jar))


class Driver:
    """One framework's app with Segment set up by ``start(**options)`` (snake_case names,
    given in the adapter's own spelling; each message sent at once, one batch at a time,
    unless told), visited by ``get``. ``paths``: the identity scenarios the app has."""

    name = ""
    paths: frozenset[str] = frozenset()
    consent: Any = None  # the framework's consent callable (see apps.py)
    consent_path = ""  # the same, as a dotted path
    tenant_key: Any = None  # the framework's write-key callable, reading X-Tenant

    def __init__(self, server: RecordingServer) -> None:
        self.server = server
        self.integration: Integration | None = None

    @property
    def client(self) -> Analytics | None:
        return None if self.integration is None else self.integration.client

    def options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The test defaults with ``options`` over them."""
        return {
            "write_key": f"{self.name}-key",
            "host": self.server.url,
            "flush_at": 1,
            "max_in_flight": 1,  # the tests read messages in call order
            **options,
        }

    def start(self, **options: Any) -> None:
        raise NotImplementedError

    def get(
        self, path: str, *, peer: str = PEER, headers: Headers | None = None, https: bool = False
    ) -> Reply:
        """GET ``path`` of ``HOST`` from the address ``peer``; header values given as
        bytes are sent as those bytes (a WSGI server hands them on read as Latin-1)."""
        return self.request("GET", path, peer=peer, headers=headers, https=https)

    def request(
        self,
        method: str,
        path: str,
        *,
        peer: str = PEER,
        headers: Headers | None = None,
        https: bool = False,
    ) -> Reply:
        scheme = "https" if https else "http"
        return self.serve(method, path, peer, dict(headers or {}), f"{scheme}://{HOST}")

    def serve(self, method: str, path: str, peer: str, headers: Headers, base_url: str) -> Reply:
        """``request`` through the framework's test client."""
        raise NotImplementedError

    def visit_all(self, visits: list[tuple[str, Headers]]) -> list[int]:
        """Every (path, headers) at once (threads, or one event loop); their statuses."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda visit: self.get(visit[0], headers=visit[1]).status, visits))

    def visit_privacy(
        self, query: str = "", *, peer: str = PEER, headers: Headers | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One visit of the privacy page: its (track, automatic page) messages."""
        assert self.get(apps.PRIVACY + query, peer=peer, headers=headers).status == 200
        messages = self.sent(2)
        (track,) = [m for m in messages if m["type"] == "track"]
        (page,) = [m for m in messages if m["type"] == "page"]
        assert track["event"] == apps.EVENT
        return track, page

    def sent(self, count: int) -> list[dict[str, Any]]:
        """Exactly the ``count`` messages delivered (the client flushed first)."""
        assert self.client is not None
        self.client.flush(timeout=10)
        messages = self.server.wait_for(count)
        assert len(messages) == count, [(m["type"], m.get("event")) for m in messages]
        return messages

    def close(self) -> None:
        if self.integration is not None:
            self.integration.shutdown()


def wsgi_environ(headers: Headers | None) -> dict[str, str]:
    """``headers`` as a WSGI server puts them in the environ."""
    environ = {}
    for name, value in (headers or {}).items():
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        environ["HTTP_" + name.upper().replace("-", "_")] = as_wsgi(text)
    return environ


class DjangoDriver(Driver):
    name = "django"
    paths = frozenset({"/who/", "/stream/", "/stream-async/", "/carry/", "/carry-async/"})
    consent = staticmethod(apps.django_consent)
    consent_path = "tests.conformance.apps.django_consent"
    tenant_key = "tests.conformance.apps.django_write_key"  # as a settings file holds it

    def __init__(self, server: RecordingServer) -> None:
        super().__init__(server)
        self.settings = contextlib.ExitStack()

    def options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return super().options({"write_key": WRITE_KEY, **options})

    def start(self, **options: Any) -> None:
        segment = {name.upper(): value for name, value in self.options(options).items()}
        self.settings.enter_context(
            override_settings(SEGMENT=segment, ROOT_URLCONF="tests.conformance.apps")
        )
        self.integration = get_integration()

    def serve(self, method: str, path: str, peer: str, headers: Headers, base_url: str) -> Reply:
        client = DjangoClient()
        environ = {"HTTP_HOST": HOST, "REMOTE_ADDR": peer, **wsgi_environ(headers)}
        response = client.generic(method, path, secure=base_url.startswith("https"), **environ)
        fields = [*response.items()]
        fields += [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]
        if not response.streaming:
            body = response.content
        elif response.is_async:  # an async body read as an ASGI server would

            async def read() -> bytes:
                return b"".join([part async for part in response.streaming_content])

            body = async_to_sync(read)()
        else:
            body = b"".join(response.streaming_content)
        return Reply.of(response.status_code, body, fields)

    def close(self) -> None:
        super().close()
        # Leaving override_settings rebuilds the integration and shuts this one down.
        self.settings.close()


class FlaskDriver(Driver):
    name = "flask"
    paths = frozenset({"/who/", "/stream/", "/stream-plain/", "/carry/"})
    consent = staticmethod(apps.flask_consent)
    consent_path = "tests.conformance.apps.flask_consent"
    tenant_key = staticmethod(apps.flask_write_key)

    def start(self, **options: Any) -> None:
        config = {f"SEGMENT_{name.upper()}": v for name, v in self.options(options).items()}
        self.app = apps.flask_app(config)
        self.integration = integration_of(self.app)

    def serve(self, method: str, path: str, peer: str, headers: Headers, base_url: str) -> Reply:
        # Without its cookie jar, Werkzeug's client sends the Cookie header as given.
        response = self.app.test_client(use_cookies=False).open(
            path,
            method=method,
            base_url=base_url,
            environ_base={"REMOTE_ADDR": peer},
            environ_overrides=wsgi_environ(headers),
        )
        return Reply.of(response.status_code, response.get_data(), response.headers.items())


class AsgiDriver(Driver):
    """An ASGI framework's app behind ``SegmentMiddleware`` (Starlette's, unless a
    subclass serves another framework's)."""

    name = "asgi"
    paths = frozenset({"/who/", "/stream/", "/carry/"})
    consent = staticmethod(apps.asgi_consent)
    consent_path = "tests.conformance.apps.asgi_consent"
    tenant_key = staticmethod(apps.asgi_write_key)

    def framework_app(self) -> Any:
        return apps.starlette_app()

    def mount(self, app: Any, **options: Any) -> tuple[Any, SegmentMiddleware]:
        """The app to serve, and the middleware in it."""
        middleware = SegmentMiddleware(app, **options)
        return middleware, middleware

    def start(self, **options: Any) -> None:
        self.app, self.middleware = self.mount(self.framework_app(), **self.options(options))
        self.integration = self.middleware.integration

    def serve(self, method: str, path: str, peer: str, headers: Headers, base_url: str) -> Reply:
        # No ``with``: the lifespan (whose shutdown flushes the client) stays unstarted.
        # The peer is set in the scope itself: TestClient's ``client=`` is newer than the
        # oldest Starlette supported.
        http = TestClient(with_peer(self.app, peer), base_url=base_url)
        response = http.request(method, path, headers=dict(headers), follow_redirects=False)
        return Reply.of(response.status_code, response.content, response.headers.multi_items())

    def visit_all(self, visits: list[tuple[str, Headers]]) -> list[int]:
        async def run() -> list[int]:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:

                async def one(path: str, headers: Headers) -> int:
                    return (await client.get(path, headers=dict(headers))).status_code

                return list(await asyncio.gather(*(one(*visit) for visit in visits)))

        return asyncio.run(run())


def with_peer(app: ASGIApp, peer: str) -> ASGIApp:
    """``app`` seen from ``peer``: the ASGI scope's ``client`` address, as a server sets it."""

    async def from_peer(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": (peer, 4711)}, receive, send)

    return from_peer


class FastAPIDriver(AsgiDriver):
    name = "fastapi"
    paths = frozenset(
        {"/who/", "/who-sync/", "/stream/", "/stream-async/", "/carry/", "/carry-sync/"}
    )

    def framework_app(self) -> Any:
        return apps.fastapi_app()


class LitestarDriver(AsgiDriver):
    name = "litestar"

    def framework_app(self) -> Any:
        return apps.litestar_app()


class QuartDriver(AsgiDriver):
    name = "quart"

    def framework_app(self) -> Any:
        return apps.quart_app()

    def mount(self, app: Any, **options: Any) -> tuple[Any, SegmentMiddleware]:
        # Quart's documented place for ASGI middleware
        app.asgi_app = middleware = SegmentMiddleware(app.asgi_app, **options)
        return app, middleware


ADAPTERS = {cls.name: cls for cls in (DjangoDriver, FlaskDriver, AsgiDriver)}
"""The adapters: every conformance test runs through each."""

DRIVERS: dict[str, type[Driver]] = {
    **ADAPTERS,
    **{cls.name: cls for cls in (FastAPIDriver, LitestarDriver, QuartDriver)},
}
"""The adapters and the other ASGI frameworks, for tests about the app's own code."""

every_framework = pytest.mark.parametrize("adapter", sorted(DRIVERS), indirect=True)
"""Run a test through every one of ``DRIVERS``, not only the adapters."""
