"""HTTP handling: the tracking API, the JSON API and the page, on a ThreadingHTTPServer.

Every request is answered at one boundary (``CollectorHandler._handle``): refused input
is a 4xx with ``{"success": false, "message": …}``; only a fault of the collector itself
(its database failing) is a 500, which a client retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import RequestError
from .intake import (
    MAX_BODY_BYTES,
    MESSAGE_TYPES,
    batch_messages,
    decode_body,
    parse_json,
    single_message,
    write_key_from_auth,
)
from .page import page_html
from .store import DEFAULT_LIMIT, EventStore

logger = logging.getLogger("segment_web.collector")

# A gzip body is at most a little larger than what it holds; beyond this it is over the
# limit without looking. Bodies up to _DRAIN_BYTES are read and dropped so the client
# gets the 400 rather than a reset connection.
_MAX_RAW_BYTES = MAX_BODY_BYTES + 64 * 1024
_DRAIN_BYTES = 16 * 1024 * 1024
_TRACKING_PATHS: dict[str, str | None] = {
    "/v1/batch": None,
    **{f"/v1/{kind}": kind for kind in MESSAGE_TYPES},
}
_PAGE_HEADERS = {
    # Everything the page needs is inline; nothing may load from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
}


class CollectorHTTPServer(ThreadingHTTPServer):
    """Serves ``CollectorHandler`` with a store and an optional required write key."""

    daemon_threads = True

    def __init__(self, host: str, port: int, store: EventStore, write_key: str | None) -> None:
        self.store = store
        self.write_key = write_key
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), CollectorHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on some resolvers.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Close the listener and end kept-alive connections, so no request outlives the stop."""
        super().server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Dropped connections and socket timeouts are the client's business, not a crash.
        logger.debug(
            "collector: connection from %s ended with an error", client_address, exc_info=True
        )


class CollectorHandler(BaseHTTPRequestHandler):
    """Routes one request; see the module docstring for how failures are answered."""

    server: CollectorHTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # a stalled client does not hold a thread forever
    server_version = "segment_web-collector"
    _body_read = False

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        self._body_read = False
        try:
            self._route(method)
        except RequestError as error:
            if error.status != 404:
                logger.warning("%s %s -> %d: %s", method, self.path, error.status, error.message)
            self._refuse(error.status, error.message, error.headers)
        except OSError:
            # The client hung up or stalled past `timeout`: no one is left to answer.
            self.close_connection = True
        except Exception:
            logger.exception("collector: internal error on %s %s", method, self.path)
            self._refuse(500, "internal error in the collector; see its log", {})

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path in ("/", "/index.html"):
            self._allow(method, "GET")
            self._send(200, page_html(), "text/html; charset=utf-8", _PAGE_HEADERS)
        elif path == "/api/events":
            self._allow(method, "GET", "DELETE")
            if method == "GET":
                self._list_events(parse_qs(url.query))
            else:
                deleted = self.server.store.clear()
                logger.info("cleared %d event(s)", deleted)
                self._send_json(200, {"success": True, "deleted": deleted})
        elif path in _TRACKING_PATHS:
            self._allow(method, "POST")
            self._receive(_TRACKING_PATHS[path])
        else:
            raise RequestError(404, f"no such endpoint: {path}")

    def _receive(self, kind: str | None) -> None:
        raw = self._read_body()
        write_key = write_key_from_auth(self.headers.get("Authorization"), self.server.write_key)
        body = parse_json(decode_body(raw, self.headers.get("Content-Encoding")))
        messages = batch_messages(body) if kind is None else [single_message(kind, body)]
        received_at = _now()
        self.server.store.add(messages, write_key=write_key, received_at=received_at)
        for message in messages:
            logger.info("%s", describe(message))
        self._send_json(200, {"success": True})

    def _list_events(self, query: Mapping[str, list[str]]) -> None:
        kind = _param(query, "type")
        user = _param(query, "user")
        limit_text = _param(query, "limit")
        if kind and kind not in MESSAGE_TYPES:
            raise RequestError(400, f"type must be one of {', '.join(MESSAGE_TYPES)}, got {kind!r}")
        limit = DEFAULT_LIMIT
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                limit = 0
            if limit < 1:
                raise RequestError(400, f"limit must be a positive integer, got {limit_text!r}")
        store = self.server.store
        events = store.events(type=kind, user=user, limit=limit)
        total = store.count(type=kind, user=user)
        self._send_json(200, {"events": [event.to_json() for event in events], "total": total})

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # the body's framing is unknown to us
            raise RequestError(411, "chunked bodies are not supported; send Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise RequestError(411, "Content-Length required")
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise RequestError(400, f"invalid Content-Length {length_text!r}")
        self._body_read = True
        if length > _MAX_RAW_BYTES:
            self._drain(length)
            raise RequestError(400, f"request body is over the {MAX_BODY_BYTES}-byte limit")
        raw = self.rfile.read(length)
        if len(raw) < length:
            self.close_connection = True
            raise RequestError(400, "request body shorter than its Content-Length")
        return raw

    def _drain(self, length: int) -> None:
        if length > _DRAIN_BYTES:
            self.close_connection = True
            return
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            left -= len(chunk)

    def _allow(self, method: str, *allowed: str) -> None:
        if method not in allowed:
            raise RequestError(
                405, f"{method} is not allowed here", headers={"Allow": ", ".join(allowed)}
            )

    def _refuse(self, status: int, message: str, headers: Mapping[str, str]) -> None:
        if not self._body_read and self.headers.get("Content-Length", "0").strip() not in ("", "0"):
            self.close_connection = True  # an unread body would be taken for the next request
        self._send_json(status, {"success": False, "message": message}, headers)

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json", headers or {})

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, unknown method) as JSON too."""
        if code == HTTPStatus.NOT_IMPLEMENTED:
            code, message = HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not allowed"
        elif code >= 500:  # e.g. 505 for "HTTP/2.0": bad input is never a 5xx here
            code = HTTPStatus.BAD_REQUEST
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._send_json(code, {"success": False, "message": message or phrase})

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def describe(message: Mapping[str, Any]) -> str:
    """One log line for a stored message: type, event/name and who."""
    kind = message.get("type")
    label = message.get("event") if kind == "track" else None
    if kind in ("page", "screen"):
        label = message.get("name")
    who = message.get("userId") or message.get("anonymousId")
    parts = [f"{kind:<8}"]
    if label:
        parts.append(json.dumps(label, ensure_ascii=False))
    if kind == "alias":
        parts.append(f"{message.get('previousId')} -> {message.get('userId')}")
    elif who is not None:
        parts.append(f"user={who}")
    return " ".join(parts)


def _param(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1].strip() or None if values else None


def _now() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"
