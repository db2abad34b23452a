"""The embedded `Store`: one SQLite file, one connection owned by the store, WAL journal.

Durability: WAL with `synchronous=FULL`. A commit appends to the `-wal` file, and FULL makes
SQLite fsync that file before the commit returns. So once `put_instance`, `delete_instance` or
`save_batch` returns, the change survives a kill -9 of the registry *and* an OS crash or power
loss (as far as the disk honours fsync; on macOS that would also need `PRAGMA fullfsync`).
`synchronous=NORMAL` would skip the per-commit fsync and sync only at checkpoints: it survives a
process crash, because a finished write() lives in the OS page cache, which outlives the process,
but an OS crash or power loss could drop the last commits, i.e. registrations already
acknowledged. FULL costs one fsync per registration, deregistration and status batch (batches
are coalesced by the catalog), never one per heartbeat, which is why we pay it.

Every write is serialised by one lock: the single connection is shared, so without it a
`put_instance` could run inside an open `save_batch` transaction and share its fate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from registry.core.messages import Envelope
from registry.core.model import (
    Dependency,
    DependencyKind,
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    HeartbeatPolicy,
    Instance,
    InstanceKey,
    Registration,
)
from registry.core.ports import Store, StoredState, StoreOpenError
from registry.store import records
from registry.store.file_lock import DatabaseLock
from registry.store.migrations import MigrationError, apply_migrations, known_migrations
from registry.store.sqlite_connection import configure, in_one_step, transaction
from registry.store.sqlite_events import DELETE_EVENTS_BELOW, REPLACE_EVENT, event_to_row

log = logging.getLogger(__name__)

MIN_SQLITE_VERSION = (3, 37, 0)
"""STRICT tables, which the schema uses, arrived in SQLite 3.37."""

_COLUMNS = (
    "service_name",
    "instance_id",
    "endpoints",
    "version",
    "tags",
    "metadata",
    "zone",
    "weight",
    "dependencies",
    "heartbeat_interval",
    "heartbeat_timeout",
    "heartbeat_max_failures",
    "status",
    "create_time",
    "update_time",
    "status_time",
    "create_revision",
    "mod_revision",
)

_SELECT_INSTANCES = f"SELECT {', '.join(_COLUMNS)} FROM instances ORDER BY service_name, instance_id"
_REPLACE_INSTANCE = (
    f"INSERT OR REPLACE INTO instances ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in _COLUMNS)})"
)
_REPLACE_ROW = (
    f"INSERT OR REPLACE INTO instances ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
"""The same with positional parameters: a registration group commit binds thousands of rows."""
_DELETE_INSTANCE = "DELETE FROM instances WHERE service_name = ? AND instance_id = ?"
# Only the same incarnation (create_revision) and never backwards (mod_revision): a batch that
# was built before a deregister + re-register, or before a newer put, must not overwrite it.
_UPDATE_STATE = """
UPDATE instances
   SET status = :status, update_time = :update_time, status_time = :status_time,
       mod_revision = :mod_revision
 WHERE service_name = :service_name AND instance_id = :instance_id
   AND create_revision = :create_revision AND mod_revision <= :mod_revision
"""
_SELECT_CEILING = "SELECT value FROM meta WHERE key = 'revision_ceiling'"
_RAISE_CEILING = "UPDATE meta SET value = max(value, ?) WHERE key = 'revision_ceiling'"


class SqliteStore(Store):
    """`Store` backed by the SQLite file at `path`, created and migrated by `open()`.

    The folder must exist. The database is used by one registry process at a time (an exclusive
    lock on the file, held from `open` to `close`); other connections (backups, an operator's
    `sqlite3` shell) are fine, and wait at most `BUSY_TIMEOUT_MS`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._file_lock = DatabaseLock(self.path)

    async def open(self) -> StoredState:
        if self._conn is not None:
            raise RuntimeError(f"store {self.path} is already open")
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old; the store needs 3.37 or newer")
        self._file_lock.acquire()
        try:
            # isolation_level=None: no implicit transactions; every write below says what it means.
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            self._file_lock.release()
            raise open_error(self.path, exc) from None
        try:
            await configure(conn)
            await apply_migrations(conn, known_migrations())
            conn.text_factory = records.lenient_text  # one bad text cell must not fail every row
            rows = await conn.execute_fetchall(_SELECT_INSTANCES)
            conn.text_factory = str
            (ceiling,) = await conn.execute_fetchall(_SELECT_CEILING)
        except BaseException as exc:
            await conn.close()
            self._file_lock.release()
            if isinstance(exc, sqlite3.Error | RuntimeError | MigrationError):
                raise open_error(self.path, exc) from None
            raise
        self._conn = conn
        return StoredState(instances=_readable(rows, self.path), revision_ceiling=ceiling[0])

    async def put_instance(self, instance: Instance) -> None:
        conn = self._open_connection()
        async with self._write_lock:
            await conn.execute(_REPLACE_INSTANCE, _row_from_instance(instance))

    async def put_instances(
        self, instances: Sequence[Instance], events: Sequence[Envelope] = (), keep_events_from: int = 0
    ) -> None:
        conn = self._open_connection()
        rows = [_values(i) for i in instances]
        event_rows = [event_to_row(e) for e in events]

        def write(raw: sqlite3.Connection) -> None:
            raw.executemany(_REPLACE_ROW, rows)
            if event_rows:  # the events table is migration 0002's, the event log's (sqlite_events.py)
                raw.executemany(REPLACE_EVENT, event_rows)
                if keep_events_from:
                    raw.execute(DELETE_EVENTS_BELOW, (keep_events_from,))

        async with self._write_lock:
            await in_one_step(conn, write)

    async def delete_instance(self, key: InstanceKey) -> None:
        conn = self._open_connection()
        async with self._write_lock:
            await conn.execute(_DELETE_INSTANCE, key)

    async def save_batch(self, instances: Sequence[Instance], revision_ceiling: int) -> None:
        """Update state columns of rows still stored (UPDATE only, so a late batch cannot
        resurrect a removed instance) and raise, never lower, the revision ceiling."""
        conn = self._open_connection()
        async with self._write_lock, transaction(conn):
            await conn.executemany(_UPDATE_STATE, [_state_from_instance(i) for i in instances])
            await conn.execute(_RAISE_CEILING, (revision_ceiling,))

    async def close(self) -> None:
        """Close the connection; SQLite checkpoints the WAL into the main file. Idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._write_lock:
                await conn.close()
            self._file_lock.release()

    def _open_connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"store {self.path} is not open")
        return self._conn


_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON; one encoder for every call (`json.dumps` with options builds a new one each time)."""


def _state_from_instance(instance: Instance) -> dict[str, Any]:
    return {
        "service_name": instance.service_name,
        "instance_id": instance.instance_id,
        "status": int(instance.status),
        "create_time": instance.create_time,
        "update_time": instance.update_time,
        "status_time": instance.status_time,
        "create_revision": instance.create_revision,
        "mod_revision": instance.mod_revision,
    }


def _row_from_instance(instance: Instance) -> dict[str, Any]:
    registration = instance.registration
    policy = registration.heartbeat_policy
    return {
        **_state_from_instance(instance),
        "endpoints": _to_json(
            [
                {"name": e.name, "host": e.host, "port": e.port, "protocol": int(e.protocol)}
                for e in registration.endpoints
            ]
        ),
        "version": registration.version,
        "tags": _to_json(list(registration.tags)),
        "metadata": _to_json(dict(registration.metadata)),
        "zone": registration.zone,
        "weight": registration.weight,
        "dependencies": _to_json([_dependency_json(d) for d in registration.dependencies]),
        "heartbeat_interval": policy.interval,
        "heartbeat_timeout": policy.timeout,
        "heartbeat_max_failures": policy.max_failures,
    }


def _values(instance: Instance) -> tuple[Any, ...]:
    """`_row_from_instance` as a tuple in `_COLUMNS` order, built directly (the hot path)."""
    registration = instance.registration
    policy = registration.heartbeat_policy
    return (
        registration.service_name,
        registration.instance_id,
        _to_json(
            [
                {"name": e.name, "host": e.host, "port": e.port, "protocol": int(e.protocol)}
                for e in registration.endpoints
            ]
        ),
        registration.version,
        _to_json(list(registration.tags)) if registration.tags else "[]",
        _to_json(dict(registration.metadata)) if registration.metadata else "{}",
        registration.zone,
        registration.weight,
        _to_json([_dependency_json(d) for d in registration.dependencies])
        if registration.dependencies
        else "[]",
        policy.interval,
        policy.timeout,
        policy.max_failures,
        int(instance.status),
        instance.create_time,
        instance.update_time,
        instance.status_time,
        instance.create_revision,
        instance.mod_revision,
    )


def _dependency_json(dependency: Dependency) -> dict[str, str | int]:
    """A dependency as stored; the version constraint only when declared (older rows lack it)."""
    stored: dict[str, str | int] = {"service_name": dependency.service_name, "kind": int(dependency.kind)}
    if dependency.version_constraint:
        stored["version_constraint"] = dependency.version_constraint
    return stored


def _instance_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Instance:
    """The instance a row holds; `CorruptRecord` naming the field when it holds none."""
    values = dict(zip(_COLUMNS, row, strict=True))
    registration = Registration(
        service_name=records.text(values, "service_name"),
        instance_id=records.text(values, "instance_id"),
        endpoints=tuple(_endpoint(e) for e in records.json_list(values, "endpoints")),
        version=records.text(values, "version"),
        tags=records.text_list(values, "tags"),
        metadata=records.text_map(values, "metadata"),
        zone=records.text(values, "zone"),
        weight=records.integer(values, "weight"),
        dependencies=tuple(_dependency(d) for d in records.json_list(values, "dependencies")),
        heartbeat_policy=HeartbeatPolicy(
            interval=records.number(values, "heartbeat_interval"),
            timeout=records.number(values, "heartbeat_timeout"),
            max_failures=records.integer(values, "heartbeat_max_failures"),
        ),
    )
    return Instance(
        registration=registration,
        status=records.member(values, "status", HealthStatus),
        create_time=records.number(values, "create_time"),
        update_time=records.number(values, "update_time"),
        status_time=records.number(values, "status_time"),
        create_revision=records.integer(values, "create_revision"),
        mod_revision=records.integer(values, "mod_revision"),
    )


def _endpoint(stored: Any) -> Endpoint:
    try:
        return Endpoint(
            records.text(stored, "name"),
            records.text(stored, "host"),
            records.integer(stored, "port"),
            records.member(stored, "protocol", EndpointProtocol),
        )
    except records.CorruptRecord as error:
        raise records.CorruptRecord(f"endpoints: {error}") from None


def _dependency(stored: Any) -> Dependency:
    try:
        constraint = records.text(stored, "version_constraint") if "version_constraint" in stored else ""
        return Dependency(
            records.text(stored, "service_name"), records.member(stored, "kind", DependencyKind), constraint
        )
    except (records.CorruptRecord, TypeError) as error:
        raise records.CorruptRecord(f"dependencies: {error}") from None


def _readable(rows: Iterable[sqlite3.Row], path: Path) -> list[Instance]:
    """The instances of `rows`; a row that holds none is skipped with a WARNING naming it (it stays
    in the file, untouched, until its instance registers again: docs/operations-store.md)."""
    instances = []
    for row in rows:
        try:
            instances.append(_instance_from_row(row))
        except records.CorruptRecord as error:
            log.warning(
                "skipped an unreadable row of the instances table; it stays in the database",
                extra={
                    "db": str(path),
                    "table": "instances",
                    "service": records.shown(row[0]),
                    "instance": records.shown(row[1]),
                    "error": str(error),
                },
            )
    return instances


def open_error(path: Path, exc: BaseException) -> StoreOpenError:
    """The one-line reason a database could not be opened, for the operator."""
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in cause:
        cause = "not a SQLite database, or truncated (file is not a database)"
    elif not os.access(path.parent, os.W_OK):
        cause = f"{cause} (its folder {path.parent} is not writable: SQLite creates -wal and -shm there)"
    return StoreOpenError(str(path), cause)


# The row shape doubles as the etcd backend's value format (registry/store/etcd.py): one encoding.
INSTANCE_COLUMNS = _COLUMNS
instance_to_row = _row_from_instance
instance_from_row = _instance_from_row
