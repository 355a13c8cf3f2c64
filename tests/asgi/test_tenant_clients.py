"""With a per-request write key, a new tenant's client (its spool opened) is built on
a worker thread: the event loop never waits for that file work."""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import segment_web
from segment_web.asgi import SegmentMiddleware
from tests.support.file_audit import file_work_in
from tests.support.recording_server import RecordingServer


def test_a_new_tenants_client_is_built_off_the_event_loop(
    server: RecordingServer, tmp_path: Path, no_default_client: None
) -> None:
    loop_threads: list[int] = []

    async def hit(request: Request) -> PlainTextResponse:
        loop_threads.append(threading.get_ident())
        segment_web.track(event="Hit")
        return PlainTextResponse("ok")

    spool = tmp_path / "spool"
    middleware = SegmentMiddleware(
        Starlette(routes=[Route("/hit", hit)]),
        write_key=lambda scope: dict(scope["headers"])[b"x-tenant"].decode(),
        host=server.url,
        spool_dir=str(spool),
    )
    try:
        with file_work_in(spool) as seen, TestClient(middleware) as http:
            for tenant in ("tenant-a-key", "tenant-b-key", "tenant-a-key"):
                assert http.get("/hit", headers={"x-tenant": tenant}).status_code == 200
        assert seen, "no tenant's spool was ever opened"
        assert not [work for work in seen if work[2] in loop_threads], seen
        assert middleware.integration.pool is not None
        assert len(middleware.integration.pool.clients()) == 2
        middleware.integration.flush()
        assert sorted(m["event"] for m in server.wait_for(3)) == ["Hit"] * 3
    finally:
        middleware.integration.shutdown()
