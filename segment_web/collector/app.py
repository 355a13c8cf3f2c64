"""``Collector``: a store and a uvicorn server together, serving on a background thread."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from segment_web.collector.extra import require_collector_extra

require_collector_extra()

from uvicorn import Server  # noqa: E402

from segment_web.collector.faults import Faults  # noqa: E402
from segment_web.collector.hosts import HostRule  # noqa: E402
from segment_web.collector.server import bind, uvicorn_server  # noqa: E402
from segment_web.collector.store import (  # noqa: E402
    DEFAULT_LIMIT,
    EventFilter,
    EventStore,
    StoredEvent,
    default_db_path,
)
from segment_web.collector.web import create_app  # noqa: E402

if TYPE_CHECKING:
    from segment_web.collector.oauth import OAuthMode
    from segment_web.collector.violations import PlanFlags

DEFAULT_READ_TIMEOUT = 10.0
_START_SECONDS = 10.0


class Collector:
    """A local tracking-API server that stores what it receives in SQLite.

    ``db_path`` defaults to ``default_db_path()``; ``port=0`` picks a free port. With
    ``write_key`` set, only that key is accepted. Requests must name ``localhost``, an
    IP address or one of ``allowed_hosts`` in their ``Host`` header (a guard against DNS
    rebinding), and arrive whole within ``read_timeout`` seconds. With ``plan``
    (``segment_web.collector.violations.PlanFlags``, the ``plan`` extra), each message is
    stored with what it breaks in that tracking plan.

    To rehearse a slow or failing API, tracking requests can be answered after
    ``latency_ms`` milliseconds (asynchronously: concurrent requests overlap), and a
    fraction ``fail_rate`` (0 to 1) of them answered ``fail_status`` (503 by default;
    given alone, every request fails), with ``Retry-After: retry_after`` seconds when
    set, and not stored. ``fail_seed`` makes which requests fail repeatable;
    ``injected_failures`` counts them.

    ``start()`` serves on a background thread and returns; ``serve_forever()`` blocks
    the calling thread until ``stop()`` or Ctrl-C; ``stop()`` ends either. As a context
    manager it starts on entry and stops on exit.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        write_key: str | None = None,
        allowed_hosts: Iterable[str] = (),
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        plan: PlanFlags | None = None,
        latency_ms: float = 0.0,
        fail_rate: float | None = None,
        fail_status: int | None = None,
        retry_after: float | None = None,
        fail_seed: int | None = None,
        oauth: OAuthMode | None = None,
    ) -> None:
        if write_key is not None and not write_key:
            raise ValueError("write_key must be a non-empty string or None (accept any key)")
        if not read_timeout > 0:
            raise ValueError(
                f"read_timeout must be a positive number of seconds, got {read_timeout!r}"
            )
        self.db_path = Path(db_path) if db_path is not None else default_db_path()
        self.host = host
        self.write_key = write_key
        self.allowed_hosts = tuple(allowed_hosts)
        self.read_timeout = read_timeout
        self.plan = plan
        self.faults = Faults(
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            fail_status=fail_status,
            retry_after=retry_after,
            fail_seed=fail_seed,
        )
        self.oauth = oauth  # OAuth mode (segment_web.collector.oauth): bearer tokens only
        self._requested_port = port
        self._store: EventStore | None = None
        self._socket: socket.socket | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._finished: threading.Event | None = None

    def open(self) -> Collector:
        """Open the database and bind the port (``OSError`` when the port is busy)."""
        if self._socket is None:
            store = EventStore(self.db_path)
            try:
                self._socket = bind(self.host, self._requested_port)
            except BaseException:
                store.close()
                raise
            self._store = store
        return self

    def start(self) -> Collector:
        """Serve on a background thread; returns once it accepts requests."""
        sock = self.open()._bound()
        if self._thread is None:
            app = create_app(
                self.store,
                write_key=self.write_key,
                hosts=HostRule(self.host, self.allowed_hosts),
                plan=self.plan,
                faults=self.faults,
                oauth=self.oauth,
            )
            server = uvicorn_server(app, self.read_timeout)
            finished = threading.Event()
            thread = threading.Thread(
                target=_serve,
                args=(server, sock, finished),
                name="segment_web-collector",
                daemon=True,
            )
            self._server, self._thread, self._finished = server, thread, finished
            thread.start()
            deadline = time.monotonic() + _START_SECONDS
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.005)
            if not server.started:
                self.stop()
                raise RuntimeError("the collector's server did not start; see the log")
        return self

    def serve_forever(self) -> None:
        """Serve until ``stop()`` is called from another thread or Ctrl-C; then return."""
        self.start()
        try:
            # Not Thread.join(): on Python 3.11 a Ctrl-C interrupting it marks the
            # still-running thread as finished, and stop() would then not wait for it.
            if self._finished is not None:
                self._finished.wait()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, end open connections and close the database. Safe to call twice.

        A request in progress gets a few seconds to finish; idle connections end at once.
        """
        server, thread, sock, store = self._server, self._thread, self._socket, self._store
        finished = self._finished
        self._server = self._thread = self._socket = self._store = self._finished = None
        if server is not None:
            server.should_exit = True
        if finished is not None and thread is not threading.current_thread():
            finished.wait(timeout=10)
        if sock is not None:
            sock.close()
        if store is not None:
            store.close()

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return int(self._bound().getsockname()[1])

    @property
    def url(self) -> str:
        """``http://host:port``: the page, and the ``host=`` to give an ``Analytics`` client."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def injected_failures(self) -> int:
        """How many tracking requests were failed on purpose (``fail_rate``/``fail_status``)."""
        return self.faults.failed

    @property
    def store(self) -> EventStore:
        """The open ``EventStore``."""
        if self._store is None:
            raise RuntimeError("the collector is not open; call start() first")
        return self._store

    def events(
        self,
        type: str | None = None,
        user: str | None = None,
        limit: int = DEFAULT_LIMIT,
        *,
        event: str | None = None,
    ) -> list[StoredEvent]:
        """Stored events, newest first, filtered as ``GET /api/events`` does.

        ``type`` is exact; ``user`` (userId or anonymousId) and ``event`` (event or
        page/screen name) match when they contain the text, ignoring ASCII case.
        """
        return self.store.events(EventFilter(type=type, event=event, user=user), limit=limit)

    def _bound(self) -> socket.socket:
        if self._socket is None:
            raise RuntimeError("the collector is not open; call start() first")
        return self._socket

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._socket is not None else "stopped"
        return f"<Collector {where} db={str(self.db_path)!r}>"


def _serve(server: Server, sock: socket.socket, finished: threading.Event) -> None:
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        finished.set()
