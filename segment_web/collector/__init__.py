"""A local development collector: speaks Segment's tracking API, keeps every message in
SQLite and shows them live in a web page. No Segment account needed.

Command line::

    python -m segment_web.collector            # http://127.0.0.1:8765
    python -m segment_web.collector --port 9000 --db ./events.sqlite3 --write-key dev

Then point a client (or an adapter's ``HOST`` setting) at it and open the URL::

    Analytics("any-key", host="http://127.0.0.1:8765", flush_at=1)

It needs the ``collector`` extra (uvicorn and Starlette): ``pip install
"segment-web[collector]"``.

Endpoints:

- ``POST /v1/batch`` and ``POST /v1/{identify,track,page,screen,group,alias}``: a JSON
  body (``Content-Type: application/json``, plain or ``Content-Encoding: gzip``), HTTP
  basic auth with the write key as user name (any key, or only ``--write-key``);
  Segment's limits of 32 KB per message and 500 KB per request. Answers
  ``{"success": true}``, or a 4xx with ``{"success": false, "message": …}`` saying
  what was wrong.
- ``GET /``: the event viewer (filters by type, event name and user; rows show ip,
  page path and campaign, and expand to the full JSON).
- ``GET /api/events?type=&event=&user=&limit=&cursor=``: the stored events as JSON,
  newest first, with ``total`` (``type`` exact; ``event`` and ``user`` match when they
  contain the text; ``limit`` 100 by default, at most 1000) and ``next``: pass it as
  ``cursor`` for the next page (null on the last page).
- ``DELETE /api/events?type=&event=&user=``: deletes the events those filters select
  (all without filters); answers ``{"success": true, "deleted": N}``.

With ``--plan plan.json`` (the ``plan`` extra) each stored event lists the rules of that
tracking plan it breaks: the page marks it and shows why, and ``GET /api/events`` gives
each event's ``violations`` and filters on them with ``violations=1`` (or ``0``).

``--latency MS``, ``--fail-rate RATE``, ``--fail-status STATUS`` and ``--retry-after
SECONDS`` (``Collector(latency_ms=…, fail_rate=…, fail_status=…, retry_after=…)``)
answer tracking requests late or fail some on purpose, without storing them, to
rehearse a slow or failing API.

Requests must name ``localhost``, an IP address or a name given with ``--allow-host`` in
their ``Host`` header, so a web page cannot reach the collector through DNS rebinding.

In Python (tests, demos)::

    with Collector("events.sqlite3") as collector:  # port 0: a free port
        client = Analytics("key", host=collector.url, flush_at=1)
        client.track(user_id="42", event="Signed Up")
        client.flush()
        assert collector.events(type="track")[0].event_or_name == "Signed Up"

The database defaults to ``$XDG_CACHE_HOME/segment_web/collector.sqlite3``
(``~/.cache/…``); what was accepted is committed before the answer, so it survives a
restart of the collector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segment_web.collector.store import EventFilter, EventStore, StoredEvent, default_db_path

if TYPE_CHECKING:
    from segment_web.collector.app import Collector

__all__ = ["Collector", "EventFilter", "EventStore", "StoredEvent", "default_db_path"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so the store works without the collector extra and
    # `python -m segment_web.collector` can say which extra to install.
    if name == "Collector":
        from segment_web.collector.app import Collector

        return Collector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
