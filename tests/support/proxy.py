"""A forward proxy on 127.0.0.1 for tests: ``CONNECT`` tunnels (HTTPS) and absolute-URI
requests (HTTP), to loopback targets only. Records what it was asked for."""

from __future__ import annotations

import http.client
import select
import socket
import socketserver
import threading
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PIPE_IDLE = 10.0  # seconds a tunnel may stay silent before the proxy closes it


class ForwardProxy:
    def __init__(self) -> None:
        self.tunnels: list[str] = []  # host:port of each CONNECT
        self.forwarded: list[str] = []  # the absolute URL of each forwarded request
        self.proxy_headers: list[dict[str, str]] = []  # the headers of each request to us
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while proxy._one(self.rfile, self.connection):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client hanging up mid-request is expected

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _one(self, rfile: Any, connection: socket.socket) -> bool:
        """Serve one request from the client; False when the connection is done."""
        line = rfile.readline(65537).decode("latin-1")
        if not line:
            return False
        method, target, _ = line.split(" ", 2)
        headers: dict[str, str] = {}
        while (header := rfile.readline(65537).decode("latin-1")) not in ("\r\n", "\n", ""):
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        with self._lock:
            self.proxy_headers.append(headers)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if host.strip("[]") not in LOOPBACK:
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return False
            with self._lock:
                self.tunnels.append(target)
            upstream = socket.create_connection((host.strip("[]"), int(port)))
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(connection, upstream)
            return False
        parts = urlsplit(target)
        if parts.hostname not in LOOPBACK:
            connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return False
        with self._lock:
            self.forwarded.append(target)
        body = rfile.read(int(headers.get("Content-Length", 0)))
        upstream_connection = http.client.HTTPConnection(parts.netloc, timeout=PIPE_IDLE)
        sent = {k: v for k, v in headers.items() if not k.lower().startswith("proxy-")}
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        upstream_connection.request(method, path, body, sent)
        response = upstream_connection.getresponse()
        content = response.read()
        upstream_connection.close()
        head = [f"HTTP/1.1 {response.status} {response.reason}"]
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                head.append(f"{name}: {value}")
        head.append(f"Content-Length: {len(content)}")
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content)
        return True

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes or both stay silent too long."""
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], PIPE_IDLE)
            if not ready:
                return
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()
