"""How every SQLite connection of the registry is set up, and how it writes.

The catalog store and the event log each own one connection to the same file; both must agree on
journal mode, durability and lock waits, so the settings live here once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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
