"""How every SQLite connection of the registry is set up, and how it writes.

The catalog store and the event log each own one connection to the same file; both must agree on
journal mode, durability and lock waits, so the settings live here once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiosqlite

BUSY_TIMEOUT_MS = 5_000
"""How long a write waits for a lock held by another connection (a backup, an operator's shell)
before failing, instead of failing at once."""

JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
"""The WAL file is truncated back to this size after a checkpoint, so one large batch does not
leave a large file behind for good."""

_PRAGMAS = (
    "PRAGMA synchronous = FULL",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES:d}",
)


async def configure(conn: aiosqlite.Connection) -> None:
    """WAL journal and the pragmas above; refuses a file system that cannot do WAL."""
    # journal_mode answers with the mode in effect: a file system without shared memory support
    # (some network mounts) silently keeps the old one, and we would rather not start.
    ((mode,),) = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
    if str(mode).lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL mode (got {mode!r}); put the database on a local disk")
    for pragma in _PRAGMAS:
        await conn.execute(pragma)


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[None]:
    """One write transaction, committed on success and rolled back on any error."""
    # IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN (after
    # busy_timeout), never half-way through the batch.
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            await conn.rollback()
        raise


async def in_one_step(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], None]) -> None:
    """Run `work` in one write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any
    error), the whole of it in one call on the connection's own thread.

    `transaction` hands each statement to that thread and waits for it, twice a thread switch per
    statement; a registration group commit is four or five statements, and on a busy machine each
    switch waits for a CPU. This hands over once. It uses aiosqlite's own way of running a call
    on its thread (`Connection._execute`), which every one of its methods goes through."""
    await conn._execute(_run_transaction, conn, work)  # type: ignore[no-untyped-call]  # noqa: SLF001


def _run_transaction(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], None]) -> None:
    raw = conn._conn  # noqa: SLF001 - on the connection's thread, where aiosqlite uses it too
    raw.execute("BEGIN IMMEDIATE")
    try:
        work(raw)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.rollback()
        raise
