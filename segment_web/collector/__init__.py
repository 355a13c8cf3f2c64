"""A local development collector: speaks Segment's tracking API, keeps every message in
SQLite and shows them live in a web page. No Segment account needed.

Command line::

    python -m segment_web.collector            # http://127.0.0.1:8765
    python -m segment_web.collector --port 9000 --db ./events.sqlite3 --write-key dev

Then point a client (or an adapter's ``HOST`` setting) at it and open the URL::

    Analytics("any-key", host="http://127.0.0.1:8765", flush_at=1)

Endpoints:

- ``POST /v1/batch`` and ``POST /v1/{identify,track,page,screen,group,alias}``: HTTP
  basic auth with the write key as user name (any key, or only ``--write-key``), plain
  or ``Content-Encoding: gzip`` JSON; Segment's limits of 32 KB per message and 500 KB
  per request. Answers ``{"success": true}``, or a 4xx with ``{"success": false,
  "message": …}`` saying what was wrong.
- ``GET /``: the event viewer (filters by type and user, rows expand to the full JSON).
- ``GET /api/events?type=&user=&limit=``: the same events as JSON, newest first
  (``limit`` 100 by default, at most 1000); ``DELETE /api/events`` clears them.

In Python (tests, demos)::

    with Collector("events.sqlite3") as collector:  # port 0: a free port
        client = Analytics("key", host=collector.url, flush_at=1)
        client.track(user_id="42", event="Signed Up")
        client.flush()
        assert collector.events(type="track")[0].event_or_name == "Signed Up"

The database defaults to ``$XDG_CACHE_HOME/segment_web/collector.sqlite3``
(``~/.cache/…``); what was accepted is committed before the answer, so it survives a
restart.
"""

from __future__ import annotations

from .app import Collector
from .store import EventStore, StoredEvent, default_db_path

__all__ = ["Collector", "EventStore", "StoredEvent", "default_db_path"]
