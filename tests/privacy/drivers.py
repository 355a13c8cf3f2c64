"""The three adapters behind one small interface, so each privacy scenario runs through
Django, Flask and ASGI alike: real apps, their own test clients, options in each
adapter's own spelling, messages read off the recording server."""

from __future__ import annotations

import contextlib
from typing import Any

from django.test import Client as DjangoClient
from django.test.utils import override_settings
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from segment_web.asgi import SegmentMiddleware
from segment_web.django import get_integration
from segment_web.flask import Segment, integration_of
from tests.django.conftest import WRITE_KEY
from tests.privacy import apps
from tests.support.adapter_suite import Driver
from tests.support.recording_server import RecordingServer

PEER = "198.51.100.23"


class Adapter(Driver):
    """One framework's app with Segment set up by ``start(**options)`` (snake_case
    names, given in the adapter's own spelling), visited by ``get``."""

    name = ""
    consent: Any = None  # the framework's consent callable (see tests.privacy.apps)
    consent_path = ""  # the same, as a dotted path

    def start(self, **options: Any) -> None:
        raise NotImplementedError

    def get(
        self, query: str = "", *, peer: str = PEER, headers: dict[str, str] | None = None
    ) -> int:
        """GET the privacy page from ``peer``; the response's status."""
        raise NotImplementedError


class DjangoAdapter(Adapter):
    name = "django"
    consent = staticmethod(apps.django_consent)
    consent_path = "tests.privacy.apps.django_consent"

    def __init__(self, server: RecordingServer) -> None:
        super().__init__(server)
        self._settings = contextlib.ExitStack()

    def start(self, **options: Any) -> None:
        segment = {
            "WRITE_KEY": WRITE_KEY,
            "HOST": self.server.url,
            "FLUSH_AT": 1,
            "MAX_IN_FLIGHT": 1,  # the tests read messages in call order
        }
        segment.update({name.upper(): value for name, value in options.items()})
        self._settings.enter_context(
            override_settings(SEGMENT=segment, ROOT_URLCONF="tests.privacy.apps")
        )
        self.client = get_integration().client

    def get(
        self, query: str = "", *, peer: str = PEER, headers: dict[str, str] | None = None
    ) -> int:
        response = DjangoClient().get(apps.PATH + query, headers=headers, REMOTE_ADDR=peer)
        return int(response.status_code)

    def close(self) -> None:
        # Leaving override_settings rebuilds the integration and shuts this client down.
        self._settings.close()


class FlaskAdapter(Adapter):
    name = "flask"
    consent = staticmethod(apps.flask_consent)
    consent_path = "tests.privacy.apps.flask_consent"

    def start(self, **options: Any) -> None:
        self.app = apps.flask_app()
        self.app.config.update(
            SEGMENT_WRITE_KEY="flask-key",
            SEGMENT_HOST=self.server.url,
            SEGMENT_FLUSH_AT=1,
            SEGMENT_MAX_IN_FLIGHT=1,
        )
        self.app.config.update({f"SEGMENT_{name.upper()}": v for name, v in options.items()})
        Segment(self.app)
        self.client = integration_of(self.app).client

    def get(
        self, query: str = "", *, peer: str = PEER, headers: dict[str, str] | None = None
    ) -> int:
        # Without its cookie jar, Werkzeug's client sends the Cookie header as given.
        response = self.app.test_client(use_cookies=False).get(
            apps.PATH + query, headers=headers, environ_base={"REMOTE_ADDR": peer}
        )
        return response.status_code


class AsgiAdapter(Adapter):
    name = "asgi"
    consent = staticmethod(apps.asgi_consent)
    consent_path = "tests.privacy.apps.asgi_consent"

    def start(self, **options: Any) -> None:
        self.app = SegmentMiddleware(
            apps.starlette_app(),
            write_key="asgi-key",
            host=self.server.url,
            flush_at=1,
            max_in_flight=1,
            **options,
        )
        self.client = self.app.client

    def get(
        self, query: str = "", *, peer: str = PEER, headers: dict[str, str] | None = None
    ) -> int:
        # No ``with``: the lifespan (whose shutdown flushes the client) stays unstarted.
        # The peer is set in the scope itself: TestClient's ``client=`` is newer than the
        # oldest Starlette supported.
        http = TestClient(with_peer(self.app, peer), base_url="http://shop.example")
        return http.get(apps.PATH + query, headers=headers).status_code


def with_peer(app: ASGIApp, peer: str) -> ASGIApp:
    """``app`` seen from ``peer``: the ASGI scope's ``client`` address, as a server sets it."""

    async def from_peer(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": (peer, 4711)}, receive, send)

    return from_peer


ADAPTERS = {cls.name: cls for cls in (DjangoAdapter, FlaskAdapter, AsgiAdapter)}
