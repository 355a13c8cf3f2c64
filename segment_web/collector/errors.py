"""The one error the collector's request handling raises: an HTTP status and a reason."""

from __future__ import annotations


class RequestError(Exception):
    """A request the collector refuses; answered as ``{"success": false, "message": …}``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
