"""Segment analytics for Python web apps: a non-blocking batching client and adapters
for Django, Flask and ASGI that fill in who and where from each request."""

from __future__ import annotations

from .batch import Batch
from .client import Analytics
from .errors import (
    ClientClosedError,
    DeliveryError,
    MessageDropped,
    PlanViolation,
    ValidationError,
)
from .module_api import (
    alias,
    configure,
    current,
    default_client,
    flush,
    group,
    identify,
    page,
    screen,
    track,
)
from .request.analytics import RequestAnalytics
from .shortlived import flush_after
from .version import VERSION as __version__

__all__ = [
    "Analytics",
    "Batch",
    "ClientClosedError",
    "DeliveryError",
    "MessageDropped",
    "PlanViolation",
    "RequestAnalytics",
    "ValidationError",
    "__version__",
    "alias",
    "configure",
    "current",
    "default_client",
    "flush",
    "flush_after",
    "group",
    "identify",
    "page",
    "screen",
    "track",
]
