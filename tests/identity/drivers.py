"""Every adapter (and the ASGI frameworks the middleware serves) behind one small
interface, so each identity scenario runs once for all: real apps, their own test
clients, messages read off the recording server."""

from __future__ import annotations

import contextlib
from typing import Any

from asgiref.sync import async_to_sync
from django.test import Client as DjangoClient
from django.test.utils import override_settings
from starlette.testclient import TestClient

from segment_web.asgi import SegmentMiddleware
from segment_web.django import get_integration
from segment_web.flask import integration_of
from tests.django.conftest import WRITE_KEY
from tests.identity import apps
from tests.support.adapter_suite import Driver
from tests.support.recording_server import RecordingServer


class Adapter(Driver):
    """One framework's app with Segment set up by ``start(**options)`` (snake_case
    names), visited by ``get``. ``paths``: the scenarios this framework has."""

    name = ""
    paths: frozenset[str] = frozenset()

    def start(self, **options: Any) -> None:
        raise NotImplementedError

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        raise NotImplementedError


class DjangoAdapter(Adapter):
    name = "django"
    paths = frozenset({"/who/", "/stream/", "/stream-async/", "/carry/", "/carry-async/"})

    def __init__(self, server: RecordingServer) -> None:
        super().__init__(server)
        self._settings = contextlib.ExitStack()

    def start(self, **options: Any) -> None:
        segment = {"WRITE_KEY": WRITE_KEY, "HOST": self.server.url, "FLUSH_AT": 1}
        segment.update({name.upper(): value for name, value in options.items()})
        self._settings.enter_context(
            override_settings(SEGMENT=segment, ROOT_URLCONF="tests.identity.apps")
        )
        self.client = get_integration().client

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        response = DjangoClient().get(path, headers=headers)
        if not response.streaming:
            return int(response.status_code), response.content
        if response.is_async:  # an async body read as an ASGI server would

            async def read() -> bytes:
                return b"".join([part async for part in response.streaming_content])

            return int(response.status_code), async_to_sync(read)()
        return int(response.status_code), b"".join(response.streaming_content)

    def close(self) -> None:
        self._settings.close()


class FlaskAdapter(Adapter):
    name = "flask"
    paths = frozenset({"/who/", "/stream/", "/stream-plain/", "/carry/"})

    def start(self, **options: Any) -> None:
        config = {"SEGMENT_WRITE_KEY": "flask-key", "SEGMENT_HOST": self.server.url}
        config.update({"SEGMENT_FLUSH_AT": 1})
        config.update({f"SEGMENT_{name.upper()}": v for name, v in options.items()})
        self.app = apps.flask_app(config)
        self.client = integration_of(self.app).client

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        # Without its cookie jar, Werkzeug's client sends the Cookie header as given.
        response = self.app.test_client(use_cookies=False).get(path, headers=headers)
        return response.status_code, response.get_data()


class AsgiAdapter(Adapter):
    """An ASGI framework's app behind ``SegmentMiddleware``."""

    def app(self) -> Any:
        raise NotImplementedError

    def mount(self, app: Any, **options: Any) -> tuple[Any, SegmentMiddleware]:
        """The app to serve, and the middleware in it."""
        middleware = SegmentMiddleware(app, **options)
        return middleware, middleware

    def start(self, **options: Any) -> None:
        self.asgi, middleware = self.mount(
            self.app(), write_key="asgi-key", host=self.server.url, flush_at=1, **options
        )
        self.client = middleware.client

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        # No ``with``: the lifespan (whose shutdown flushes the client) stays unstarted.
        response = TestClient(self.asgi, base_url="http://shop.example").get(path, headers=headers)
        return response.status_code, response.content


class FastAPIAdapter(AsgiAdapter):
    name = "fastapi"
    paths = frozenset(
        {"/who/", "/who-sync/", "/stream/", "/stream-async/", "/carry/", "/carry-sync/"}
    )

    def app(self) -> Any:
        return apps.fastapi_app()


class LitestarAdapter(AsgiAdapter):
    name = "litestar"
    paths = frozenset({"/who/", "/stream/", "/carry/"})

    def app(self) -> Any:
        return apps.litestar_app()


class QuartAdapter(AsgiAdapter):
    name = "quart"
    paths = frozenset({"/who/", "/stream/", "/carry/"})

    def app(self) -> Any:
        return apps.quart_app()

    def mount(self, app: Any, **options: Any) -> tuple[Any, SegmentMiddleware]:
        # Quart's documented place for ASGI middleware
        app.asgi_app = middleware = SegmentMiddleware(app.asgi_app, **options)
        return app, middleware


ADAPTERS = {
    cls.name: cls
    for cls in (DjangoAdapter, FlaskAdapter, FastAPIAdapter, LitestarAdapter, QuartAdapter)
}
