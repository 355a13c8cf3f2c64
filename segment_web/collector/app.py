"""``Collector``: a store and a server together, served on a background thread or this one."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from .server import CollectorHTTPServer
from .store import DEFAULT_LIMIT, EventStore, StoredEvent, default_db_path


class Collector:
    """A local tracking-API server that stores what it receives in SQLite.

    ``db_path`` defaults to ``default_db_path()``; ``port=0`` picks a free port. With
    ``write_key`` set, only that key is accepted. ``start()`` serves on a background
    thread, ``serve_forever()`` on the calling one; ``stop()`` ends either. As a context
    manager it starts on entry and stops on exit.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        write_key: str | None = None,
    ) -> None:
        if write_key is not None and not write_key:
            raise ValueError("write_key must be a non-empty string or None (accept any key)")
        self.db_path = Path(db_path) if db_path is not None else default_db_path()
        self.host = host
        self.write_key = write_key
        self._requested_port = port
        self._store: EventStore | None = None
        self._server: CollectorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = False

    def open(self) -> Collector:
        """Open the database and bind the port (``OSError`` when the port is busy)."""
        if self._server is None:
            store = EventStore(self.db_path)
            try:
                self._server = CollectorHTTPServer(
                    self.host, self._requested_port, store, self.write_key
                )
            except BaseException:
                store.close()
                raise
            self._store = store
        return self

    def start(self) -> Collector:
        """Serve on a background thread; returns at once, ready for requests."""
        server = self.open()._bound()
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="segment_web-collector",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop()`` or an exception (Ctrl-C)."""
        server = self.open()._bound()
        try:
            self._serving = True
            server.serve_forever(poll_interval=0.1)
        finally:
            self._serving = False

    def stop(self) -> None:
        """Stop serving, end open connections and close the database. Safe to call twice."""
        server, store, thread = self._server, self._store, self._thread
        self._server = self._store = self._thread = None
        if server is not None:
            if self._serving:
                server.shutdown()  # returns at once when serve_forever already ended
            server.server_close()
        self._serving = False
        if thread is not None:
            thread.join(timeout=5)
        if store is not None:
            store.close()

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return int(self._bound().server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``: the page, and the ``host=`` to give an ``Analytics`` client."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def store(self) -> EventStore:
        """The open ``EventStore``."""
        if self._store is None:
            raise RuntimeError("the collector is not open; call start() first")
        return self._store

    def events(
        self, type: str | None = None, user: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[StoredEvent]:
        """Stored events, newest first; ``user`` matches userId or anonymousId."""
        return self.store.events(type=type, user=user, limit=limit)

    def _bound(self) -> CollectorHTTPServer:
        if self._server is None:
            raise RuntimeError("the collector is not open; call start() first")
        return self._server

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
        where = self.url if self._server is not None else "stopped"
        return f"<Collector {where} db={str(self.db_path)!r}>"
