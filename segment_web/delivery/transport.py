"""One HTTP POST of a request body, with retries and backoff. Knows nothing of messages."""

from __future__ import annotations

import base64
import email.utils
import http.client
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from segment_web.delivery import compression as gzip_backend
from segment_web.delivery.routes import Answer, Route, open_route
from segment_web.errors import DeliveryError, GaveUpAtShutdown
from segment_web.version import VERSION

logger = logging.getLogger("segment_web")

DEFAULT_HOST = "https://api.segment.io"
# Segment's guidance for its tracking API: these are worth another try, other 4xx are final.
RETRYABLE_STATUSES = frozenset({408, 410, 429, 460})
FINAL_5XX = frozenset({501, 505})
MAX_RETRY_AFTER = 300.0
# Retry-After waits do not use up max_retries, so a server that keeps asking to wait
# could hold a batch forever; past this many such waits the batch fails.
MAX_RETRY_AFTER_WAITS = 20
# Backoff before retry N is BACKOFF_BASE * 2**(N-1), capped at BACKOFF_MAX (0.5 s to 60 s);
# read when a policy is made, so a test suite may shorten them for the clients it creates.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 60.0


def batch_endpoint(host: str) -> str:
    """``api.segment.io/v1``, ``https://events.eu1.segmentapis.com/v1/``… → ``…/v1/batch``.

    Without a scheme the host is reached over https, except a loopback host
    (``127.0.0.1:8765``, ``localhost:8765``, ``[::1]:8765``), reached over http.
    """
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"host must be a non-empty string such as {DEFAULT_HOST!r}, got {host!r}")
    text = host.strip()
    if "://" not in text:
        # A host without a scheme means https, except a loopback one (127.0.0.1:8765,
        # localhost, [::1]): that is a local development server, which speaks http.
        text = ("http://" if _is_loopback(urlsplit("//" + text).hostname) else "https://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"host must be an http(s) URL or a host name, got {host!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/batch"):
        path = path[: -len("/batch")]
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}/batch"


def _is_loopback(hostname: str | None) -> bool:
    if hostname is None:
        return False
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or (500 <= status <= 599 and status not in FINAL_5XX)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped at 300."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 10
    base_delay: float = field(default_factory=lambda: BACKOFF_BASE)
    max_delay: float = field(default_factory=lambda: BACKOFF_MAX)

    def backoff(self, retry: int) -> float:
        """Delay before retry number ``retry`` (1-based): doubling, capped, ±25 % jitter."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return min(self.max_delay, delay * random.uniform(0.75, 1.25))


class Transport:
    """POSTs bodies to one endpoint over a kept-alive connection."""

    def __init__(self, endpoint: str, write_key: str, *, timeout: float, gzip_bodies: bool) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.gzip_bodies = gzip_bodies
        token = base64.b64encode(f"{write_key}:".encode()).decode("ascii")
        self._headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
            "User-Agent": f"segment-web/{VERSION}",
        }
        if gzip_bodies:
            self._headers["Content-Encoding"] = "gzip"
        # Made by the first post(), on the delivery thread: proxy look-ups can touch the
        # network on some systems, and the caller's thread never does.
        self._route: Route | None = None

    def post(self, body: bytes, retry: int) -> Answer:
        """One attempt, within ``timeout`` seconds in all; ``X-Retry-Count: N`` on retry N.

        A server that trickles its answer cannot hold the attempt longer: past the
        deadline it fails as a read timeout, and is retried as any timeout is.
        """
        if self._route is None:
            self._route = open_route(self.endpoint, self._headers)
        data = gzip_backend.compress(body) if self.gzip_bodies else body
        headers = {"Content-Length": str(len(data))}
        if retry:
            headers["X-Retry-Count"] = str(retry)
        return self._route.post(data, headers, self.timeout)

    def send(
        self, make_body: Callable[[], bytes], policy: RetryPolicy, abort: threading.Event
    ) -> int:
        """POST until accepted (returns the status) or finally failed (raises DeliveryError).

        ``make_body`` is called per attempt, so a body can carry a fresh ``sentAt``.
        Waits between attempts end early when ``abort`` is set.
        """
        attempt = 0
        retries = 0
        retry_after_waits = 0
        while True:
            wait: float | None
            try:
                response = self.post(make_body(), attempt)
            except (OSError, http.client.HTTPException) as error:  # requests' errors included
                failure = DeliveryError(f"network error: {error}")
                wait = None
            else:
                status = response.status
                if 200 <= status < 300:
                    return status
                text = response.text[:500]
                failure = DeliveryError(f"HTTP {status}: {text}", status=status, body=text)
                if not is_retryable(status):
                    raise failure
                wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and retry_after_waits < MAX_RETRY_AFTER_WAITS:
                retry_after_waits += 1
            elif retries < policy.max_retries:
                retries += 1
                wait = policy.backoff(retries)
            else:
                raise failure
            attempt += 1
            logger.debug("segment_web: %s; retry %d in %.2fs", failure, attempt, wait)
            if abort.wait(wait):
                raise GaveUpAtShutdown(
                    f"gave up at shutdown after: {failure}", status=failure.status
                )

    def close(self) -> None:
        if self._route is not None:
            self._route.close()

    def reset_after_fork(self) -> None:
        """A child process must not share the parent's sockets: the child's first POST
        makes its own connection."""
        self._route = None
