"""Trace correlation through the middleware: ``context.trace`` and ``enduser.id`` on the
server span an instrumentation outside the middleware opened."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.testclient import TestClient

from segment_web.asgi import SegmentMiddleware
from segment_web.asgi.protocol import ASGIApp, Receive, Scope, Send
from tests.asgi.apps import starlette_app
from tests.support.recording_server import RecordingServer


def traced(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """What an OpenTelemetry ASGI instrumentation does: a server span around the app."""
    tracer = provider.get_tracer("test")

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with tracer.start_as_current_span("GET", kind=SpanKind.SERVER):
            await app(scope, receive, send)

    return wrapper


def test_trace_ids_and_enduser_id(
    server: RecordingServer, middlewares: list[SegmentMiddleware]
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    resolved: list[Any] = []

    def user_id(scope: Scope) -> str:
        resolved.append(scope["path"])
        return "user-7"

    segment = SegmentMiddleware(
        starlette_app(),
        write_key="k",
        host=server.url,
        flush_at=1,
        trace_context=True,
        span_enduser_id=True,
        user_id=user_id,
    )
    middlewares.append(segment)
    with TestClient(traced(segment, provider)) as http:
        assert http.get("/").status_code == 200  # the auto page call resolves the user
    segment.client.flush()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None and span.attributes["enduser.id"] == "user-7"
    (message,) = server.messages
    ids = span.get_span_context()
    assert message["userId"] == "user-7"
    assert message["context"]["trace"] == {
        "traceId": f"{ids.trace_id:032x}",
        "spanId": f"{ids.span_id:016x}",
    }


def test_no_enduser_id_unless_asked(
    server: RecordingServer, middlewares: list[SegmentMiddleware]
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    segment = SegmentMiddleware(
        starlette_app(), write_key="k", host=server.url, flush_at=1, user_id=lambda s: "u"
    )
    middlewares.append(segment)
    with TestClient(traced(segment, provider)) as http:
        http.get("/")
    segment.client.flush()
    (span,) = exporter.get_finished_spans()
    assert "enduser.id" not in (span.attributes or {})
    assert "trace" not in server.messages[0]["context"]
