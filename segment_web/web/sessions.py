"""Session stitching (opt-in): the browser's session id, read from a header or a cookie,
written where destinations read it.

analytics.js's Actions Amplitude plugin (and Amplitude's own SDKs) number a session by
the time it started, in milliseconds since the epoch; Amplitude (Actions) reads it from
``integrations["Actions Amplitude"].session_id``. The same value goes into
``context.sessionId`` for any other destination or warehouse query. Only a whole
positive number of at most 16 digits is taken: anything else counts as no session id.
"""

from __future__ import annotations

import re
from typing import Any

from segment_web.web.facts import RequestFacts

AMPLITUDE = "Actions Amplitude"
MAX_DIGITS = 16  # milliseconds since 1970 need 13 for the next 250 years
_SESSION_ID = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


class SessionIdRule:
    """Where a request's session id is read: ``header`` (lower case) first, then
    ``cookie``; neither set: session stitching is off."""

    __slots__ = ("cookie", "header")

    def __init__(self, header: str | None, cookie: str | None) -> None:
        self.header = header.lower() if header else None
        self.cookie = cookie

    def read(self, facts: RequestFacts) -> int | None:
        """The request's session id, or None (absent, or not a usable number)."""
        raw = None
        if self.header:
            raw = facts.header(self.header)
        if raw is None and self.cookie:
            raw = facts.cookie(self.cookie)
        if raw is None:
            return None
        raw = raw.strip().strip('"')
        if not _SESSION_ID.fullmatch(raw):
            return None
        value = int(raw)
        return value if value > 0 else None

    @staticmethod
    def stitch(
        session_id: int, context: dict[str, Any], integrations: dict[str, Any]
    ) -> dict[str, Any]:
        """``context`` gets ``sessionId``; the new integrations mapping, with Amplitude's
        ``session_id`` unless consent turned that destination off."""
        context["sessionId"] = session_id
        below = integrations.get(AMPLITUDE, True)
        if below is False:
            return integrations
        options = dict(below) if isinstance(below, dict) else {}
        options["session_id"] = session_id
        return {**integrations, AMPLITUDE: options}
