"""The three adapters behind one interface for the tenant scenarios: the write key is
chosen per request from the ``X-Tenant`` header, by each framework's own callable."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flask
import httpx
from django.http import HttpRequest
from django.test import Client as DjangoClient
from django.test.utils import override_settings

from segment_web.asgi import SegmentMiddleware
from segment_web.django import get_integration
from segment_web.flask import integration_of
from segment_web.web.integration import Integration
from tests.django import conftest as django_project  # noqa: F401  (configures Django)
from tests.support.recording_server import RecordingServer
from tests.tenants import apps

KEY_PREFIX = "key-"


def key_of(tenant: str | None) -> str:
    if not tenant:
        raise LookupError("no X-Tenant header")
    return KEY_PREFIX + tenant


def django_write_key(request: HttpRequest) -> str:
    return key_of(request.headers.get("X-Tenant"))


def flask_write_key() -> str:
    return key_of(flask.request.headers.get("X-Tenant"))


def asgi_write_key(scope: dict[str, Any]) -> str:
    headers = dict(scope["headers"])
    tenant = headers.get(b"x-tenant")
    return key_of(tenant.decode() if tenant else None)


Visit = tuple[str | None, int]  # (tenant, n): GET /hit/?tenant=..&n=.. with X-Tenant


def _query(visit: Visit) -> tuple[str, dict[str, str]]:
    tenant, n = visit
    headers = {"X-Tenant": tenant} if tenant else {}
    return f"/hit/?tenant={tenant or ''}&n={n}", headers


class Adapter:
    name = ""

    def __init__(self, server: RecordingServer) -> None:
        self.server = server
        self.integration: Integration | None = None

    def start(self, **options: Any) -> None:
        raise NotImplementedError

    def visit_all(self, visits: list[Visit]) -> list[int]:
        """Every visit at once (threads, or one event loop); their status codes."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self.visit, visits))

    def visit(self, visit: Visit) -> int:
        raise NotImplementedError

    def close(self) -> None:
        if self.integration is not None:
            self.integration.shutdown()


class DjangoAdapter(Adapter):
    name = "django"

    def __init__(self, server: RecordingServer) -> None:
        super().__init__(server)
        self._settings = contextlib.ExitStack()

    def start(self, **options: Any) -> None:
        # as a dotted path, as a settings file holds it
        segment = {"WRITE_KEY": f"{__name__}.django_write_key", "HOST": self.server.url}
        segment.update({name.upper(): value for name, value in options.items()})
        self._settings.enter_context(
            override_settings(SEGMENT=segment, ROOT_URLCONF="tests.tenants.apps")
        )
        self.integration = get_integration()

    def visit(self, visit: Visit) -> int:
        url, headers = _query(visit)
        return int(DjangoClient().get(url, headers=headers).status_code)

    def close(self) -> None:
        super().close()
        self._settings.close()


class FlaskAdapter(Adapter):
    name = "flask"

    def start(self, **options: Any) -> None:
        config: dict[str, object] = {
            "SEGMENT_WRITE_KEY": flask_write_key,
            "SEGMENT_HOST": self.server.url,
        }
        config.update({f"SEGMENT_{name.upper()}": v for name, v in options.items()})
        self.app = apps.flask_app(config)
        self.integration = integration_of(self.app)

    def visit(self, visit: Visit) -> int:
        url, headers = _query(visit)
        return self.app.test_client().get(url, headers=headers).status_code


class AsgiAdapter(Adapter):
    name = "asgi"

    def start(self, **options: Any) -> None:
        self.middleware = SegmentMiddleware(
            apps.starlette_app(), write_key=asgi_write_key, host=self.server.url, **options
        )
        self.integration = self.middleware.integration

    def visit_all(self, visits: list[Visit]) -> list[int]:
        async def run() -> list[int]:
            transport = httpx.ASGITransport(app=self.middleware)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:

                async def one(visit: Visit) -> int:
                    url, headers = _query(visit)
                    return (await client.get(url, headers=headers)).status_code

                return list(await asyncio.gather(*(one(v) for v in visits)))

        return asyncio.run(run())

    def visit(self, visit: Visit) -> int:
        return self.visit_all([visit])[0]


ADAPTERS = {cls.name: cls for cls in (DjangoAdapter, FlaskAdapter, AsgiAdapter)}
