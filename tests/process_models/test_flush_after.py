"""``flush_after``: a handler invoked again and again in one warm process (as Lambda
does) has every invocation's events delivered before it returns, bounded in time."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

import segment_web
from segment_web import Analytics
from tests.support.recording_server import RecordingServer, Reply


@pytest.fixture
def client(server: RecordingServer) -> Iterator[Analytics]:
    analytics = Analytics("lambda", host=server.url, flush_at=500, flush_interval=600)
    analytics.flushed = True  # nothing would go before a flush
    yield analytics
    analytics.shutdown(timeout=5)


def test_each_invocation_is_delivered_before_it_returns(
    client: Analytics, server: RecordingServer
) -> None:
    @segment_web.flush_after(client=client, timeout=10)
    def handler(event: dict[str, int]) -> int:
        for step in range(3):
            client.track(user_id="u", event="Invoked", properties=event | {"step": step})
        return event["invocation"]

    for invocation in range(5):
        assert handler({"invocation": invocation}) == invocation
        # no waiting: the handler returned only after the server had them
        arrived = [(m["properties"]["invocation"], m["properties"]["step"]) for m in server]
        assert arrived == [(i, s) for i in range(invocation + 1) for s in range(3)]
    assert client.closed is False  # the warm process keeps its client


def test_a_handler_that_raises_is_flushed_and_its_error_goes_on(
    client: Analytics, server: RecordingServer
) -> None:
    @segment_web.flush_after(client=client)
    def handler() -> None:
        client.track(user_id="u", event="Before Failing")
        raise KeyError("boom")

    with pytest.raises(KeyError):
        handler()
    assert [m["event"] for m in server] == ["Before Failing"]


def test_as_a_context_manager(client: Analytics, server: RecordingServer) -> None:
    with segment_web.flush_after(client=client):
        client.track(user_id="script", event="Import Done")
    assert [m["event"] for m in server] == ["Import Done"]


def test_the_wait_is_bounded_by_timeout(
    client: Analytics, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = Reply(delay=30.0)  # a server that never answers in time
    start = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, "segment_web"),
        segment_web.flush_after(client=client, timeout=0.5),
    ):
        client.track(user_id="u", event="Hung")
    took = time.monotonic() - start
    assert 0.4 < took < 3.0
    assert "flush timed out" in caplog.text
    server.release()


def test_plain_decorator_flushes_every_client_of_the_process(server: RecordingServer) -> None:
    script = f"""
        import os, segment_web
        segment_web.configure(write_key="k", host={server.url!r}, flush_at=500).flushed = True

        @segment_web.flush_after
        def handler(number):
            segment_web.track(user_id="u", event="Invoked", properties={{"number": number}})

        for number in range(3):
            handler(number)
            print(number, flush=True)
        os._exit(0)  # a frozen or killed process: no atexit flush to rely on
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [m["properties"]["number"] for m in server] == [0, 1, 2]
