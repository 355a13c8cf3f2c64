"""OAuth 2.0 for Segment's tracking API (extra ``[oauth]``: PyJWT with cryptography).

The client-credentials grant with a signed client assertion (RFC 7523), as Segment's
own libraries do it: a short-lived JWT, signed RS256 with the client's private key and
naming its key id, is exchanged at ``<oauth_auth_server>/token`` for an access token,
sent as ``Authorization: Bearer …`` in place of the write key.

Tokens are fetched on the delivery thread (never the caller's), before the POST that
needs one, and fetched again once half their lifetime has passed; a POST answered 401
drops the token and is sent again at once with a new one, once per batch.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from segment_web.errors import DeliveryError

DEFAULT_AUTH_SERVER = "https://oauth2.segment.io"
DEFAULT_SCOPE = "tracking_api:write"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 60  # the client assertion's lifetime
DEFAULT_TOKEN_SECONDS = 3600.0  # when the token endpoint does not say
MISSING_EXTRA = "needs PyJWT and cryptography: pip install 'segment-web[oauth]'"


@dataclass(frozen=True)
class OAuthSettings:
    client_id: str
    client_key: str = field(repr=False)  # the private key, PEM: never in a log line
    key_id: str
    auth_server: str = DEFAULT_AUTH_SERVER
    scope: str = DEFAULT_SCOPE

    @property
    def token_endpoint(self) -> str:
        return self.auth_server.rstrip("/") + "/token"

    def assertion(self) -> str:
        """A fresh signed client assertion (raises on an unusable key)."""
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.auth_server.rstrip("/"),
            "iat": now - 5,  # a little early, for a server clock slightly behind
            "exp": now + ASSERTION_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.client_key, algorithm="RS256", headers={"kid": self.key_id})


def check_oauth(client_id: str | None, client_key: str | None, key_id: str | None) -> str | None:
    """What is wrong with the three OAuth credentials together (all or none)."""
    given = {"oauth_client_id": client_id, "oauth_client_key": client_key, "oauth_key_id": key_id}
    missing = [name for name, value in given.items() if not value]
    if len(missing) == 3:
        return None
    if missing:
        return f"OAuth needs {', '.join(missing)} too (or none of the three)"
    try:
        import jwt  # noqa: F401
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        return f"oauth_client_key {MISSING_EXTRA}"
    try:
        load_pem_private_key(str(client_key).encode(), password=None)
    except (ValueError, TypeError) as error:
        return f"oauth_client_key must be an unencrypted PEM private key: {error}"
    return None


class TokenSource:
    """The current access token, fetched (and refreshed) by the thread that asks."""

    def __init__(self, settings: OAuthSettings, http: Any, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        self._http = http  # routes.HttpOptions: the token requests use the same proxies/CA
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self._session: requests.Session | None = None

    def token(self) -> str:
        """A token fit to use: the cached one until half its lifetime passed.

        Raises ``OSError`` (retried like a network error) when the token endpoint cannot
        be reached or fails, ``DeliveryError`` (final) when it refuses the credentials.
        """
        with self._lock:
            if self._token is not None and time.monotonic() < self._refresh_at:
                return self._token
            token, lifetime = self._fetch()
            self._token, self._refresh_at = token, time.monotonic() + lifetime / 2
            return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        settings = self.settings
        if self._session is None:
            self._session = requests.Session()
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": settings.assertion(),
            "scope": settings.scope,
        }
        http = self._http
        try:
            response = self._session.post(
                settings.token_endpoint,
                data=form,
                timeout=self.timeout,
                proxies=dict(http.proxies or {}),
                verify=True if http.verify is None else http.verify,
                cert=http.cert,
            )
        except requests.RequestException as error:
            raise ConnectionError(f"OAuth token request failed: {error}") from error
        status = response.status_code
        if status in (400, 401, 403):  # the credentials are wrong: retrying will not help
            raise DeliveryError(
                f"OAuth token request refused (HTTP {status}): {response.text[:300]}"
            )
        if status != 200:
            raise ConnectionError(f"OAuth token request answered HTTP {status}")
        try:
            answer = response.json()
            token = answer["access_token"]
            lifetime = float(answer.get("expires_in", DEFAULT_TOKEN_SECONDS))
        except (ValueError, KeyError, TypeError) as error:
            raise ConnectionError(f"OAuth token answer unusable: {error}") from error
        if not isinstance(token, str) or not token:
            raise ConnectionError("OAuth token answer has no access_token")
        return token, max(lifetime, 1.0)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._session = None
