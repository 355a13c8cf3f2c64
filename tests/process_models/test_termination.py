"""The SIGTERM handler itself, in fresh processes: it flushes, then hands the signal on
(to a handler that was there, or to the default action), and is installed only where
it may be."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from segment_web import Analytics
from segment_web.web.settings import parse_settings
from tests.support.recording_server import RecordingServer

CLIENT = "Analytics('k', host={url!r}, flush_at=500, flush_interval=600{extra})"


def run(body: str, server: RecordingServer, extra: str = "") -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(body).replace("CLIENT", CLIENT.format(url=server.url, extra=extra))
    prelude = "import os, signal, threading\nfrom segment_web import Analytics\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + script], capture_output=True, text=True, timeout=60
    )


def test_default_action_flushes_then_dies_by_the_signal(server: RecordingServer) -> None:
    done = run(
        """
        client = CLIENT
        client.flushed = True
        for n in range(5):
            client.track(user_id="u", event="Queued", properties={"n": n})
        os.kill(os.getpid(), signal.SIGTERM)
        print("survived")
        """,
        server,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "survived" not in done.stdout
    assert [m["properties"]["n"] for m in server] == list(range(5))


def test_an_existing_handler_still_runs_after_the_flush(server: RecordingServer) -> None:
    done = run(
        """
        def server_handler(signum, frame):
            print("server handler ran; delivered so far", flush=True)
        signal.signal(signal.SIGTERM, server_handler)
        client = CLIENT
        client.flushed = True
        client.track(user_id="u", event="Queued")
        os.kill(os.getpid(), signal.SIGTERM)
        print("the server decides: it goes on", flush=True)
        os._exit(0)
        """,
        server,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "server handler ran; delivered so far",
        "the server decides: it goes on",
    ]
    assert [m["event"] for m in server] == ["Queued"]


@pytest.mark.parametrize(
    ("setup", "extra", "expected"),
    [
        ("signal.signal(signal.SIGTERM, signal.SIG_IGN)", "", "SIG_IGN"),
        ("", ", flush_on_signals=False", "SIG_DFL"),
        ("in_thread = True", "", "SIG_DFL"),
    ],
    ids=["ignored-stays-ignored", "opted-out", "not-from-a-thread"],
)
def test_no_handler_where_it_may_not_go(
    server: RecordingServer, setup: str, extra: str, expected: str
) -> None:
    done = run(
        f"""
        in_thread = False
        {setup}
        if in_thread:
            worker = threading.Thread(target=lambda: CLIENT)
            worker.start()
            worker.join()
        else:
            client = CLIENT
        handler = signal.getsignal(signal.SIGTERM)
        print(getattr(handler, "name", handler))
        """,
        server,
        extra,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_installed_once_however_many_clients(server: RecordingServer) -> None:
    done = run(
        """
        first, second = CLIENT, CLIENT
        for client in (first, second):
            client.flushed = True
            client.track(user_id="u", event="Queued")
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        server,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert [m["event"] for m in server] == ["Queued", "Queued"]


def test_flush_on_signals_is_validated_by_the_client_and_the_adapters() -> None:
    with pytest.raises(ValueError, match="flush_on_signals"):
        Analytics("k", flush_on_signals="no")  # type: ignore[arg-type]
    settings, problems = parse_settings({"write_key": "k", "flush_on_signals": False})
    assert settings.flush_on_signals is False and problems == []
    assert settings.client_options()["flush_on_signals"] is False
    _, problems = parse_settings({"write_key": "k", "flush_on_signals": "no"})
    assert [p.option for p in problems] == ["flush_on_signals"]


def test_each_adapter_passes_the_opt_out_to_its_client(server: RecordingServer) -> None:
    done = run(
        """
        from flask import Flask
        from segment_web.asgi import SegmentMiddleware
        from segment_web.flask import Segment

        site = Flask("site")
        site.config.update(SEGMENT_WRITE_KEY="k", SEGMENT_FLUSH_ON_SIGNALS=False)
        Segment(site)
        asgi = SegmentMiddleware(lambda *a: None, write_key="k", flush_on_signals=False)
        print(site.extensions["segment"].flush_on_signals, asgi.client.flush_on_signals)
        print(getattr(signal.getsignal(signal.SIGTERM), "name", "installed"))
        """,
        server,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "SIG_DFL"]


def test_a_server_that_restores_the_handler_it_saved_still_ends_by_the_signal(
    server: RecordingServer,
) -> None:
    """uvicorn's shape: it saves the handler in place (ours), installs its own, loads the
    app (which makes another client), and after its graceful shutdown restores the saved
    handler and raises the signal again."""
    done = run(
        """
        first = CLIENT
        first.flushed = True
        calls = []
        saved = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
        second = CLIENT  # wraps the server's handler
        second.flushed = True
        second.track(user_id="u", event="During Serving")
        os.kill(os.getpid(), signal.SIGTERM)  # the server's handler runs, after a flush
        print("graceful shutdown", calls, flush=True)
        first.track(user_id="u", event="During Shutdown")
        signal.signal(signal.SIGTERM, saved)
        signal.raise_signal(signal.SIGTERM)
        print("survived", flush=True)
        """,
        server,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.splitlines() == [f"graceful shutdown [{int(signal.SIGTERM)}]"]
    assert [m["event"] for m in server] == ["During Serving", "During Shutdown"]


def test_a_client_that_opted_out_is_not_flushed_by_another_clients_handler(
    server: RecordingServer,
) -> None:
    done = run(
        """
        flushed = CLIENT
        opted_out = Analytics('k', host=flushed.host, flush_at=500, flush_interval=600,
                              flush_on_signals=False)
        for client, event in ((flushed, "Flushed"), (opted_out, "Opted Out")):
            client.flushed = True
            client.track(user_id="u", event=event)
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        server,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    # The process is gone: what arrived is all that ever will.
    assert [m["event"] for m in server] == ["Flushed"]


def test_a_client_made_off_the_main_thread_warns_and_asgi_installs_its_handler(
    server: RecordingServer,
) -> None:
    done = run(
        """
        import asyncio, logging
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        from segment_web.asgi import SegmentMiddleware

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        made = []
        worker = threading.Thread(target=lambda: made.append(
            SegmentMiddleware(app, write_key="k", host=HOST, flush_at=500,
                              flush_interval=600, auto_page=False)))
        worker.start()
        worker.join()
        middleware = made[0]
        middleware.client.flushed = True
        print(getattr(signal.getsignal(signal.SIGTERM), "name", "installed"), flush=True)

        async def one_request():
            scope = {"type": "http", "method": "GET", "path": "/", "headers": [],
                     "query_string": b"", "client": ("127.0.0.1", 1), "scheme": "http",
                     "server": ("127.0.0.1", 80), "http_version": "1.1", "root_path": ""}
            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}
            async def send(message):
                pass
            await middleware(scope, receive, send)

        asyncio.run(one_request())
        print(getattr(signal.getsignal(signal.SIGTERM), "name", "installed"), flush=True)
        middleware.client.track(user_id="u", event="Queued")
        os.kill(os.getpid(), signal.SIGTERM)
        """.replace("HOST", repr(server.url)),
        server,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.split() == ["SIG_DFL", "installed"]
    assert "created outside the main thread" in done.stderr
    assert [m["event"] for m in server] == ["Queued"]
