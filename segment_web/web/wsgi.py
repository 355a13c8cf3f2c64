"""Headers of a WSGI request, read straight from its environ (Django's ``request.META``
is one), for the Django and Flask adapters.

A lookup here is one dict read: Werkzeug's ``request.headers.get`` reaches the same
environ value through several Python calls, and every request reads a few headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from segment_web.web.facts import Lookup


def environ_headers(environ: Mapping[str, Any]) -> Lookup:
    """``RequestFacts.header`` for a WSGI environ: a header by lower-case name, or None.

    Values are as the server put them (PEP 3333: Latin-1 text, repeated headers already
    joined with ", "); anything but a string counts as absent.
    """
    get = environ.get

    def header(name: str) -> str | None:
        value = get(environ_key(name))
        return value if isinstance(value, str) else None

    return header


@lru_cache(maxsize=64)
def environ_key(name: str) -> str:
    """Where WSGI keeps a header: ``x-real-ip`` → ``HTTP_X_REAL_IP``; Content-Type and
    Content-Length have no ``HTTP_`` prefix."""
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
