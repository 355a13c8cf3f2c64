"""Segment analytics for Python web apps: a non-blocking batching client and adapters
for Django, Flask and ASGI that fill in who and where from each request."""

from __future__ import annotations

from segment_web.api import (
    alias,
    configure,
    current,
    default_client,
    flush,
    group,
    identify,
    identify_request,
    page,
    screen,
    track,
)
from segment_web.core.client import Analytics
from segment_web.core.handle import RequestAnalytics, carry
from segment_web.delivery.batch import Batch
from segment_web.errors import (
    ClientClosedError,
    DeliveryError,
    LeftInSpool,
    MessageDropped,
    PlanViolation,
    ValidationError,
)
from segment_web.process.flush_after import flush_after
from segment_web.version import VERSION as __version__

__all__ = [
    "Analytics",
    "Batch",
    "ClientClosedError",
    "DeliveryError",
    "LeftInSpool",
    "MessageDropped",
    "PlanViolation",
    "RequestAnalytics",
    "ValidationError",
    "__version__",
    "alias",
    "carry",
    "configure",
    "current",
    "default_client",
    "flush",
    "flush_after",
    "group",
    "identify",
    "identify_request",
    "page",
    "screen",
    "track",
]
