"""The collector's OAuth mode (needs PyJWT with cryptography, extra ``[oauth]``): a token
endpoint and a tracking API that takes only bearer tokens it issued.

``POST /token`` takes the client-credentials grant with a client assertion (a JWT
signed RS256 with the client's private key), checks it against ``public_key`` (and
``client_id`` and ``key_id`` when given), and answers an opaque access token valid for
``token_seconds``. ``/v1/*`` then refuses, with 401, any request without a live token.
``expire_tokens()`` ends every issued token now, as a server-side expiry would.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from segment_web.collector.errors import RequestError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_BEARER_REALM = {"WWW-Authenticate": 'Bearer realm="segment_web collector"'}


class OAuthMode:
    def __init__(
        self,
        public_key: str | bytes,
        *,
        client_id: str | None = None,
        key_id: str | None = None,
        token_seconds: float = 3600.0,
    ) -> None:
        self.public_key = public_key
        self.client_id = client_id
        self.key_id = key_id
        self.token_seconds = token_seconds
        self.issued = 0  # tokens handed out
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, expiry)
        self._lock = threading.Lock()

    def route(self) -> Route:
        return Route("/token", self._token, methods=["POST"])

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def authorize(self, authorization: str | None) -> str:
        """The client id behind a live bearer token, or a 401 ``RequestError``."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise RequestError(401, "send an OAuth bearer token", headers=_BEARER_REALM)
        with self._lock:
            found = self._tokens.get(token.strip())
            if found is None or found[1] <= time.monotonic():
                self._tokens.pop(token.strip(), None)
                raise RequestError(401, "the token is unknown or expired", headers=_BEARER_REALM)
        return f"oauth:{found[0]}"

    async def _token(self, request: Request) -> Response:
        # urlencoded by hand: Starlette's form() needs python-multipart, not a dependency
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        form = {name: values[0] for name, values in fields.items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "use client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return _oauth_error(400, "invalid_request", "client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str):
            return _oauth_error(400, "invalid_request", "client_assertion is missing")
        try:
            client_id = self._check(assertion, str(request.base_url).rstrip("/"))
        except jwt.PyJWTError as error:
            return _oauth_error(401, "invalid_client", str(error))
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (client_id, time.monotonic() + self.token_seconds)
            self.issued += 1
        answer = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_seconds,
            "scope": form.get("scope") or "",
        }
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    def _check(self, assertion: str, audience: str) -> str:
        header = jwt.get_unverified_header(assertion)
        if self.key_id is not None and header.get("kid") != self.key_id:
            raise jwt.InvalidTokenError(f"unknown key id {header.get('kid')!r}")
        claims: dict[str, Any] = jwt.decode(
            assertion,
            self.public_key,
            algorithms=["RS256"],
            audience=audience,
            options={"require": ["exp", "iat", "iss", "sub", "jti"]},
        )
        if claims["iss"] != claims["sub"]:
            raise jwt.InvalidTokenError("iss and sub must both be the client id")
        if self.client_id is not None and claims["sub"] != self.client_id:
            raise jwt.InvalidTokenError(f"unknown client {claims['sub']!r}")
        return str(claims["sub"])


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
