"""Several Segment sources in one app: the write key (and host) chosen per request.

``write_key`` (and ``host``) may be callables of the request; each request then gets
the client of its (write key, host) from a bounded pool. Clients are never shared
between keys, so one tenant's messages never travel under another's key, and drops,
plan checks and the spool are per client by construction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from segment_web.core.client import Analytics
from segment_web.web.settings import SegmentSettings

logger = logging.getLogger("segment_web")

# Distinct failures warned about, remembered so each is logged once; bounded so a
# callable failing with ever new messages cannot grow it without end.
_MAX_WARNED = 256


def spool_subdirectory(spool_dir: str | os.PathLike[str], write_key: str, host: str) -> str:
    """The spool directory of one (write key, host): a hash, so neither appears in a path."""
    digest = hashlib.sha256(f"{write_key}\0{host}".encode()).hexdigest()[:32]
    return os.path.join(os.fspath(spool_dir), digest)


class ClientPool:
    """One ``Analytics`` per (write key, host), at most ``settings.max_clients``: past
    that, the least recently used client leaves the pool and is flushed (bounded by its
    ``shutdown_timeout``) on a thread of its own, never on a request's.

    ``client_for(argument)`` calls the write key (and host) callables with the
    request's ``argument`` (or with none when ``zero_arg``: Flask's request context);
    a failure or an unusable answer returns ``fallback`` (a disabled client: the
    request's messages are validated, then go nowhere), with one WARNING per distinct
    failure.
    """

    def __init__(self, settings: SegmentSettings, fallback: Analytics, *, zero_arg: bool) -> None:
        assert callable(settings.write_key)
        self._write_key: Callable[..., Any] = settings.write_key
        self._host: Callable[..., Any] | None = settings.host if callable(settings.host) else None
        self._static_host = settings.host if isinstance(settings.host, str) else None
        self._options = settings.client_options()
        self._options.pop("host", None)
        self._max = settings.max_clients
        self._fallback = fallback
        self._zero_arg = zero_arg
        self._clients: OrderedDict[tuple[str, str], Analytics] = OrderedDict()
        self._closing: set[threading.Thread] = set()
        self._warned: set[str] = set()
        self._lock = threading.Lock()  # the pool's dict, the warnings, the closing set
        self._building = threading.Lock()  # one client built at a time

    def client_for(self, argument: Any) -> Analytics:
        """The client of the request's write key and host, built if need be."""
        key = self.choose(argument)
        return self._fallback if key is None else self.get_or_build(key)

    def choose(self, argument: Any) -> tuple[str, str] | None:
        """The request's (write key, host) from the callables; None (warned about once)
        when they fail or answer something unusable."""
        try:
            args = () if self._zero_arg else (argument,)
            write_key = self._write_key(*args)
            host = self._host(*args) if self._host is not None else self._static_host
        except Exception as error:
            self._warn(f"the write_key/host callable raised {type(error).__name__}: {error}")
            return None
        if not isinstance(write_key, str) or not write_key.strip():
            self._warn(f"the write_key callable returned {write_key!r}, not a write key")
            return None
        if not isinstance(host, str) or not host.strip():
            self._warn(f"the host callable returned {host!r}, not a host")
            return None
        return write_key, host

    def pooled(self, key: tuple[str, str]) -> Analytics | None:
        """The client of ``key`` if the pool has it (now the most recently used)."""
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
            return client

    def get_or_build(self, key: tuple[str, str]) -> Analytics:
        """The client of ``key``, built when the pool has none: file and thread work (a
        spool opened, a plan loaded), so the ASGI adapter calls this off the event loop.
        Builds run one at a time, outside the pool's lock, which ``pooled()`` only holds
        for a lookup. A client that cannot be built is the disabled fallback (warned
        about once)."""
        with self._building:
            client = self.pooled(key)  # built by the caller before, meanwhile
            if client is not None:
                return client
            try:
                client = self._build(*key)
            except Exception as error:  # a host Analytics refuses, a spool it cannot open
                self._warn(f"no client for that write key: {type(error).__name__}: {error}")
                return self._fallback
            with self._lock:
                self._clients[key] = client
                while len(self._clients) > self._max:
                    _, evicted = self._clients.popitem(last=False)
                    self._close_later(evicted)
            return client

    def _build(self, write_key: str, host: str) -> Analytics:
        options = dict(self._options)
        if options.get("spool_dir") is not None:
            options["spool_dir"] = spool_subdirectory(options["spool_dir"], write_key, host)
        return Analytics(write_key, host=host, **options)

    def _close_later(self, client: Analytics) -> None:
        """Flush ``client`` on a thread of its own, then let it go. Not shut down: a
        request still running may hold it, and its calls must not fail; once no request
        does, the client is collected and its delivery thread sends what is left (the
        exit flush covers it meanwhile)."""

        def close() -> None:
            try:
                client.flush(timeout=client.shutdown_timeout)
            except Exception:
                logger.warning("segment_web: flushing an evicted client failed", exc_info=True)
            finally:
                with self._lock:
                    self._closing.discard(thread)

        thread = threading.Thread(target=close, name="segment_web-evict", daemon=True)
        self._closing.add(thread)
        thread.start()

    def _warn(self, failure: str) -> None:
        with self._lock:
            if failure in self._warned or len(self._warned) >= _MAX_WARNED:
                return
            self._warned.add(failure)
        logger.warning(
            "segment_web: %s; that request's analytics is disabled (its messages are "
            "not sent). Logged once.",
            failure,
        )

    def clients(self) -> list[Analytics]:
        """The pooled clients, least recently used first."""
        with self._lock:
            return list(self._clients.values())

    def flush(self) -> None:
        """Flush every pooled client, each bounded by its ``shutdown_timeout``."""
        for client in self.clients():
            try:
                client.flush(timeout=client.shutdown_timeout)
            except Exception:
                logger.exception("segment_web: flushing a pooled client failed")

    def shutdown(self) -> None:
        """Shut every pooled client down (flushed), and wait for the evicted ones."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
            closing = list(self._closing)  # evicted, still flushing
        for client in clients:
            try:
                client.shutdown(timeout=client.shutdown_timeout)
            except Exception:
                logger.exception("segment_web: shutting down a pooled client failed")
        self._join(closing)

    def join_evicted(self) -> None:
        """Wait for the flushes of the evicted clients (each bounded by its timeout)."""
        with self._lock:
            closing = list(self._closing)
        self._join(closing)

    def _join(self, threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join(timeout=self._options["shutdown_timeout"] + 1)
