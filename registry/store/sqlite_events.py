"""The embedded `EventLog`: the `events` table in the registry's SQLite file (migration 0002).

It has its own connection to the same file, configured exactly like the store's (WAL,
`synchronous=FULL`): an event acknowledged by Publish survives a kill -9 and a power loss, and
event writes never queue behind catalog writes in one connection's thread. SQLite serialises the
two writers with its file lock (each waits at most BUSY_TIMEOUT_MS). The catalog's `SqliteStore`
must have opened, and so migrated, the file first.

Appends arrive in batches (the event bus commits everything published while the previous commit
ran), so one fsync covers many events; count retention rides in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import aiosqlite

from registry.core.messages import Envelope, MessageType, Priority
from registry.core.ports import EventBounds, EventLog
from registry.store import records
from registry.store.sqlite_connection import configure, transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

_COLUMNS = (
    "sequence",
    "id",
    "name",
    "source_service",
    "target_service",
    "tenant_id",
    "priority",
    "create_time",
    "trace_id",
    "trace_context",
    "idempotency_key",
    "content_type",
    "headers",
    "payload",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM events"
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_ASCENDING = f"{_SELECT} WHERE sequence > ? AND sequence < ? ORDER BY sequence LIMIT ?"
_DESCENDING = f"{_SELECT} WHERE sequence > ? AND sequence < ? ORDER BY sequence DESC LIMIT ?"
_REPLACE = _INSERT.replace("INSERT", "INSERT OR REPLACE", 1)
_DELETE_BELOW = "DELETE FROM events WHERE sequence < ?"
_DELETE_OLDER = "DELETE FROM events WHERE create_time < ?"
_FIRST_AT = "SELECT min(sequence) FROM events WHERE create_time >= ?"
_OLDEST = "SELECT coalesce(min(sequence), 0) FROM events"
_NEWEST = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'events'"


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _to_json(mapping: Any) -> str:
    return _encode(dict(mapping)) if mapping else "{}"


def _row(event: Envelope) -> tuple[Any, ...]:
    return (
        event.sequence,
        event.id,
        event.name,
        event.source_service,
        event.target_service,
        event.tenant_id,
        int(event.priority),
        event.create_time,
        event.trace_id,
        _to_json(event.trace_context),
        event.idempotency_key,
        event.content_type,
        _to_json(event.headers),
        event.payload,
    )


def _event(row: sqlite3.Row | tuple[Any, ...]) -> Envelope:
    """The event a row holds; `CorruptRecord` naming the field when it holds none."""
    values = dict(zip(_COLUMNS, row, strict=True))
    return Envelope(
        type=MessageType.EVENT,
        name=records.text(values, "name"),
        target_service=records.text(values, "target_service"),
        payload=records.blob(values, "payload"),
        content_type=records.text(values, "content_type"),
        headers=MappingProxyType(records.text_map(values, "headers")),
        tenant_id=records.text(values, "tenant_id"),
        priority=records.member(values, "priority", Priority),
        idempotency_key=records.text(values, "idempotency_key"),
        id=records.text(values, "id"),
        source_service=records.text(values, "source_service"),
        trace_id=records.text(values, "trace_id"),
        trace_context=MappingProxyType(records.text_map(values, "trace_context")),
        create_time=records.number(values, "create_time"),
        sequence=records.integer(values, "sequence"),
    )


async def readable_events(
    read: Callable[[int, int, int], Awaitable[Sequence[T]]],
    decode: Callable[[T], Envelope],
    *,
    sequence_of: Callable[[T], int],
    name_of: Callable[[T], str],
    after: int,
    before: int,
    limit: int,
    newest_first: bool,
) -> list[Envelope]:
    """Up to `limit` decodable events with `after < sequence < before`, reading on past records that
    hold none (each skipped with a WARNING naming it), so a damaged record never shortens a page
    (a short page means "no more events" to a subscriber catching up)."""
    events: list[Envelope] = []
    while len(events) < limit:
        wanted = limit - len(events)
        stored = await read(after, before, wanted)
        for record in stored:
            try:
                events.append(decode(record))
            except records.CorruptRecord as error:
                log.warning(
                    "skipped an unreadable event; it stays in the log",
                    extra={"event": name_of(record), "error": str(error)},
                )
        if len(stored) < wanted:
            break
        if newest_first:
            before = sequence_of(stored[-1])
        else:
            after = sequence_of(stored[-1])
    return events


class SqliteEventLog(EventLog):
    """`EventLog` in the SQLite file at `path`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        """One connection: a second BEGIN while a transaction is open would fail."""

    async def open(self) -> EventBounds:
        if self._conn is not None:
            raise RuntimeError(f"event log {self.path} is already open")
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        # Text that is not UTF-8 makes that one event unreadable (skipped, logged), not the query.
        conn.text_factory = records.lenient_text
        try:
            await configure(conn)
            bounds = await _bounds(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return bounds

    async def append_events(self, events: Sequence[Envelope], keep_from: int) -> None:
        conn = self._connection()
        async with self._write_lock, transaction(conn):
            await conn.executemany(_INSERT, [_row(e) for e in events])
            await conn.execute(_DELETE_BELOW, (keep_from,))

    async def read_events(
        self, after: int, before: int, limit: int, newest_first: bool = False
    ) -> list[Envelope]:
        # No lock: on the shared connection a read may run inside an append's open transaction,
        # which is why callers bound `before` by the sequence they know is committed.
        conn = self._connection()

        async def rows(after: int, before: int, limit: int) -> Sequence[sqlite3.Row]:
            query = _DESCENDING if newest_first else _ASCENDING
            return list(await conn.execute_fetchall(query, (after, before, limit)))

        return await readable_events(
            rows,
            _event,
            sequence_of=_sequence,
            name_of=lambda row: f"{self.path} table events sequence {row[0]}",
            after=after,
            before=before,
            limit=limit,
            newest_first=newest_first,
        )

    async def first_sequence_at(self, time: float) -> int | None:
        ((first,),) = await self._connection().execute_fetchall(_FIRST_AT, (time,))
        return None if first is None else int(first)

    async def trim_events(self, created_before: float) -> EventBounds:
        conn = self._connection()
        async with self._write_lock:
            async with transaction(conn):
                await conn.execute(_DELETE_OLDER, (created_before,))
            return await _bounds(conn)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._write_lock:
                await conn.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"event log {self.path} is not open")
        return self._conn


async def _bounds(conn: aiosqlite.Connection) -> EventBounds:
    ((oldest,),) = await conn.execute_fetchall(_OLDEST)
    ((newest,),) = await conn.execute_fetchall(_NEWEST)
    return EventBounds(int(oldest), int(newest))


def _sequence(row: sqlite3.Row) -> int:
    return int(row[0])


# The row shape doubles as the etcd event log's value format (registry/store/etcd_events.py).
EVENT_COLUMNS = _COLUMNS
event_to_row = _row
event_from_row = _event
# The catalog store writes registrations' lifecycle events in the registrations' own transaction
# (registry/store/sqlite.py), with these statements.
REPLACE_EVENT = _REPLACE
DELETE_EVENTS_BELOW = _DELETE_BELOW
