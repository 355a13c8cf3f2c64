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
from segment_web.delivery.oauth import OAuthSettings, TokenSource
from segment_web.delivery.routes import Answer, HttpOptions, Route, open_route
from segment_web.delivery.stats import DeliveryStats, error_type
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
# Attempts failed in a row, across senders, from which every sender backs off.
FAILURE_RUN = 3
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


class OutageLog:
    """Logs a run of failed attempts when it starts (once, WARNING) and when it ends.

    A batch is retried for minutes before it finally fails and is reported; without this
    the reason (a refused connection, a 503) would only show then.
    """

    def __init__(self, host: str) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._failures = 0
        self._since = 0.0

    def failed(self, failure: DeliveryError, *, retrying: bool) -> None:
        """An attempt failed; a final failure is logged by the reporter, so only counted."""
        with self._lock:
            self._failures += 1
            first = self._failures == 1
            if first:
                self._since = time.monotonic()
        if first and retrying:
            logger.warning(
                "segment_web: cannot deliver to %s: %s; retrying (logged again when "
                "delivery recovers, or when a batch finally fails)",
                self.host,
                failure,
            )

    def succeeded(self) -> None:
        """An attempt was accepted: the end of a run of failures, if one was going on."""
        with self._lock:
            failures, self._failures = self._failures, 0
            since = self._since
        if failures:
            logger.info(
                "segment_web: delivery to %s recovered after %d failed attempt%s in %.1fs",
                self.host,
                failures,
                "" if failures == 1 else "s",
                time.monotonic() - since,
            )

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0


class BackoffGate:
    """The instant before which no sender of a client may POST.

    A 429 (or any answer with ``Retry-After``) and a run of failed attempts push it
    forward, so an API that asked for a pause gets it from every sender, not from the one
    that happened to hear it; each batch still counts its own retries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.not_before = 0.0  # time.monotonic()
        self.failures = 0  # attempts failed in a row, by any sender

    def wait(self, abort: threading.Event) -> bool:
        """Wait until the gate opens; False when ``abort`` was set first."""
        while True:
            left = self.not_before - time.monotonic()
            if left <= 0:
                return True
            if abort.wait(left):
                return False

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self) -> int:
        """One more failed attempt; how many failed in a row now."""
        with self._lock:
            self.failures += 1
            return self.failures

    def hold(self, seconds: float) -> None:
        """No sender POSTs for ``seconds`` from now (or longer, if already held longer)."""
        with self._lock:
            self.not_before = max(self.not_before, time.monotonic() + seconds)


class Transport:
    """POSTs bodies to one endpoint over a small pool of kept-alive connections: one per
    POST in flight at once, reused by whichever sender posts next."""

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        timeout: float,
        gzip_bodies: bool,
        stats: DeliveryStats | None = None,
        http: HttpOptions | None = None,
        oauth: OAuthSettings | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.http = http if http is not None else HttpOptions()
        # With OAuth, a bearer token (fetched on the delivery thread) replaces the write key.
        self.oauth = None if oauth is None else TokenSource(oauth, self.http, timeout)
        self.stats = stats if stats is not None else DeliveryStats()
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
        self.outage = OutageLog(urlsplit(endpoint).netloc)
        # Routes are made by the senders' POSTs, never on the caller's thread: proxy
        # look-ups can touch the network on some systems.
        self._idle: list[Route] = []
        self._lock = threading.Lock()
        self.gate = BackoffGate()

    def post(self, body: bytes, retry: int) -> Answer:
        """One attempt, within ``timeout`` seconds in all; ``X-Retry-Count: N`` on retry N.

        A server that trickles its answer cannot hold the attempt longer: past the
        deadline it fails as a read timeout, and is retried as any timeout is.
        """
        data = gzip_backend.compress(body) if self.gzip_bodies else body
        headers = {"Content-Length": str(len(data))}
        if self.oauth is not None:
            headers["Authorization"] = f"Bearer {self.oauth.token()}"
        if retry:
            headers["X-Retry-Count"] = str(retry)
        with self._lock:
            route = self._idle.pop() if self._idle else None
        if route is None:
            route = open_route(self.endpoint, self._headers, self.http)
        try:
            return route.post(data, headers, self.timeout)
        finally:
            # A failed POST closed its connection; the route reconnects on its next use.
            with self._lock:
                self._idle.append(route)

    def send(
        self, make_body: Callable[[], bytes], policy: RetryPolicy, abort: threading.Event
    ) -> int:
        """POST until accepted (returns the status) or finally failed (raises DeliveryError).

        ``make_body`` is called per attempt, so a body can carry a fresh ``sentAt``.
        Every attempt waits for the client's ``gate``; waits end early when ``abort`` is
        set.
        """
        started = time.monotonic()
        failure: DeliveryError | None = None
        try:
            return self._send(make_body, policy, abort)
        except DeliveryError as error:
            failure = error
            raise
        finally:
            self.stats.batch_done(
                time.monotonic() - started, None if failure is None else error_type(failure.status)
            )

    def _send(
        self, make_body: Callable[[], bytes], policy: RetryPolicy, abort: threading.Event
    ) -> int:
        attempt = 0
        retries = 0
        retry_after_waits = 0
        renewed = False  # the OAuth token was renewed after a 401, as it is once per batch
        stats = self.stats
        gate = self.gate
        failure: DeliveryError | None = None
        while True:
            if not gate.wait(abort):
                reason = "gave up at shutdown" + (f" after: {failure}" if failure else "")
                raise GaveUpAtShutdown(reason, status=failure.status if failure else None)
            wait: float | None
            try:
                response = self.post(make_body(), attempt)
            except (OSError, http.client.HTTPException) as error:  # requests' errors included
                failure = DeliveryError(f"network error: {error}")
                wait = None
            else:
                status = response.status
                if 200 <= status < 300:
                    self.outage.succeeded()
                    gate.succeeded()
                    stats.attempt(True)
                    return status
                text = response.text[:500]
                failure = DeliveryError(f"HTTP {status}: {text}", status=status, body=text)
                if status == 401 and self.oauth is not None and not renewed:
                    renewed = True  # an expired or revoked token: a new one, at once
                    self.oauth.invalidate()
                    stats.attempt(False, retrying=True)
                    attempt += 1
                    continue
                if not is_retryable(status):
                    gate.succeeded()  # the API answers: no reason to slow the others
                    stats.attempt(False)
                    raise failure
                wait = parse_retry_after(response.headers.get("Retry-After"))
            in_a_row = gate.failed()
            if wait is not None and retry_after_waits < MAX_RETRY_AFTER_WAITS:
                retry_after_waits += 1
                gate.hold(wait)  # the API asked the client to wait: every sender waits
            elif retries < policy.max_retries:
                retries += 1
                wait = policy.backoff(retries)
                if in_a_row >= FAILURE_RUN:
                    # Not one batch's bad luck but an API in trouble: all senders back off.
                    gate.hold(policy.backoff(in_a_row - FAILURE_RUN + 1))
            else:
                self.outage.failed(failure, retrying=False)
                stats.attempt(False)
                raise failure
            self.outage.failed(failure, retrying=True)
            stats.attempt(False, retrying=True)
            attempt += 1
            logger.debug("segment_web: %s; retry %d in %.2fs", failure, attempt, wait)
            if abort.wait(wait):
                raise GaveUpAtShutdown(
                    f"gave up at shutdown after: {failure}", status=failure.status
                )

    @property
    def routes(self) -> list[Route]:
        """The connections made so far that no POST is using now."""
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        """Close the idle connections (at the end of delivery)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for route in idle:
            route.close()
        if self.oauth is not None:
            self.oauth.close()

    def reset_after_fork(self) -> None:
        """A child process must not share the parent's sockets: the child's first POST
        makes its own connection."""
        self._idle = []
        self._lock = threading.Lock()
        self.gate = BackoffGate()
        self.outage.reset_after_fork()
        if self.oauth is not None:
            self.oauth.reset_after_fork()
