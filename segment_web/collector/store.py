"""SQLite storage of received messages: one connection behind a lock, committed per request.

The database runs in WAL mode with ``synchronous=NORMAL``: a commit is a write to the
log without an fsync (tens of microseconds rather than milliseconds), and what was
committed survives the collector's exit or crash; only a power cut may lose the last
moments, which is the right trade for a development tool.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from segment_web.collector.intake import message_json

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at   TEXT NOT NULL,
    write_key     TEXT NOT NULL,
    type          TEXT NOT NULL,
    event_or_name TEXT,
    user_id       TEXT,
    anonymous_id  TEXT,
    timestamp     TEXT,
    message_id    TEXT,
    message       TEXT NOT NULL,
    violations    TEXT
);
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);
CREATE INDEX IF NOT EXISTS events_user_id ON events (user_id, id);
CREATE INDEX IF NOT EXISTS events_anonymous_id ON events (anonymous_id, id);
"""
_COLUMNS = (
    "id, received_at, write_key, type, event_or_name, user_id, anonymous_id, timestamp, message,"
    " violations"
)
# Databases made before tracking plans: the column is added when opened. NULL means the
# message was not judged (no --plan); '[]' that it follows the plan.
_ADD_VIOLATIONS = "ALTER TABLE events ADD COLUMN violations TEXT"


def default_db_path() -> Path:
    """``$XDG_CACHE_HOME/segment_web/collector.sqlite3`` (``~/.cache`` when unset)."""
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "segment_web" / "collector.sqlite3"


@dataclass(frozen=True)
class EventFilter:
    """Which events to list, count or delete; unset fields match everything.

    ``type`` is exact; ``event`` (the track event or page/screen name) and ``user``
    (userId or anonymousId) match when they contain the text, ignoring ASCII case.
    """

    type: str | None = None
    event: str | None = None
    user: str | None = None
    violations: bool | None = None  # True: only those breaking the plan; False: only the others

    def is_empty(self) -> bool:
        return not (self.type or self.event or self.user) and self.violations is None

    def sql(self) -> tuple[str, list[str]]:
        """The ``WHERE`` clause (empty when nothing is filtered) and its parameters."""
        clauses: list[str] = []
        params: list[str] = []
        if self.type:
            clauses.append("type = ?")
            params.append(self.type)
        if self.event:
            clauses.append(r"event_or_name LIKE ? ESCAPE '\'")
            params.append(_contains(self.event))
        if self.user:
            clauses.append(r"(user_id LIKE ? ESCAPE '\' OR anonymous_id LIKE ? ESCAPE '\')")
            params += [_contains(self.user)] * 2
        if self.violations is not None:
            clauses.append("violations != '[]'" if self.violations else "violations = '[]'")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


_ALL = EventFilter()


@dataclass(frozen=True)
class StoredEvent:
    """One received message and the columns extracted from it."""

    id: int
    received_at: str
    write_key: str
    type: str
    event_or_name: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp: str | None
    message: dict[str, Any]
    violations: list[dict[str, str]] | None = None  # None: not judged against a plan

    def to_json(self) -> dict[str, Any]:
        """The shape ``GET /api/events`` returns for this event."""
        return {
            "id": self.id,
            "received_at": self.received_at,
            "write_key": self.write_key,
            "type": self.type,
            "event_or_name": self.event_or_name,
            "user_id": self.user_id,
            "anonymous_id": self.anonymous_id,
            "timestamp": self.timestamp,
            "message": self.message,
            "violations": self.violations,
        }


class EventStore:
    """Received messages in one SQLite file; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
            if "violations" not in columns:
                self._db.execute(_ADD_VIOLATIONS)
        except sqlite3.Error:
            self._db.close()
            raise

    def add(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        write_key: str,
        received_at: str,
        violations: Sequence[list[dict[str, str]]] | None = None,
    ) -> int:
        """Store ``messages`` in one transaction, committed before returning; returns the count.

        ``violations``, one list per message, are what a tracking plan found wrong.
        """
        rows = [_row(message, write_key, received_at) for message in messages]
        if violations is not None:
            rows = [(*row, json.dumps(found)) for row, found in zip(rows, violations, strict=True)]
        else:
            rows = [(*row, None) for row in rows]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO events (received_at, write_key, type, event_or_name, user_id,"
                    " anonymous_id, timestamp, message_id, message, violations)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def events(self, where: EventFilter = _ALL, *, limit: int = DEFAULT_LIMIT) -> list[StoredEvent]:
        """Newest first, matching ``where``; ``limit`` is capped at 1000."""
        return self.page(where, limit=limit)[0]

    def page(
        self, where: EventFilter = _ALL, *, limit: int = DEFAULT_LIMIT, before: int | None = None
    ) -> tuple[list[StoredEvent], int | None]:
        """One page of ``events()``: those older than the event with id ``before`` (all
        when None), and the ``before`` of the next page (None after the last one).

        Paging by id is stable: events received or deleted meanwhile shift no page.
        """
        clause, params = where.sql()
        limit = max(1, min(limit, MAX_LIMIT))
        args: list[Any] = list(params)
        if before is not None:
            clause += " AND id < ?" if clause else " WHERE id < ?"
            args.append(before)
        sql = f"SELECT {_COLUMNS} FROM events{clause} ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit + 1]).fetchall()
        events = [_event(row) for row in rows[:limit]]
        return events, (events[-1].id if len(rows) > limit else None)

    def count(self, where: EventFilter = _ALL) -> int:
        """How many stored events match ``where``."""
        clause, params = where.sql()
        with self._lock:
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM events{clause}", params).fetchone()
        return int(total)

    def delete(self, where: EventFilter = _ALL) -> int:
        """Delete the events matching ``where`` (all by default); returns how many."""
        clause, params = where.sql()
        with self._lock:
            return self._db.execute(f"DELETE FROM events{clause}", params).rowcount

    def clear(self) -> int:
        """Delete every stored event; returns how many there were."""
        return self.delete()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _event(row: tuple[Any, ...]) -> StoredEvent:
    id, received_at, write_key, kind, label, user_id, anonymous_id, timestamp, message, found = row
    return StoredEvent(
        id=id,
        received_at=received_at,
        write_key=write_key,
        type=kind,
        event_or_name=label,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        message=json.loads(message),
        violations=None if found is None else json.loads(found),
    )


def _row(message: Mapping[str, Any], write_key: str, received_at: str) -> tuple[Any, ...]:
    kind = str(message.get("type"))
    label = message.get("event") if kind == "track" else None
    if kind in ("page", "screen"):
        label = message.get("name")
    return (
        received_at,
        _text(write_key),
        kind,
        _text(label),
        _text(message.get("userId")),
        _text(message.get("anonymousId")),
        _text(message.get("timestamp")),
        _text(message.get("messageId")),
        message_json(dict(message)),
    )


def _text(value: object) -> str | None:
    # sqlite3 cannot bind a str holding a lone surrogate; ids are shown, not compared bytewise.
    if value is None or isinstance(value, dict | list | bool):
        return None
    return str(value).encode("utf-8", "replace").decode("utf-8")
