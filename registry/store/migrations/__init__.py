"""Versioned schema of the SQLite store, and the tiny runner that brings a database up to date.

Each `NNNN_description.sql` beside this module is one migration, applied in version order. The
runner wraps every file, together with its row in `schema_migrations`, in one transaction, so a
crash or an error mid-migration leaves the database at the previous version instead of half
migrated; a file must therefore not contain BEGIN/COMMIT itself. The files are package data read
through importlib.resources, so an installed wheel migrates exactly like a source checkout.
A released file is never edited: a schema change is the next number.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
"""The name is interpolated into SQL by `_apply`, so it must stay this narrow."""

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT
"""


class MigrationError(Exception):
    """The schema cannot be brought to what this code expects; the store must not open."""


class SchemaTooNewError(MigrationError):
    """The database was migrated by a newer registry. Opening it could silently drop or
    misread what that version stores, so the operator has to upgrade or restore a backup."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    """File name without `.sql`, recorded in `schema_migrations` for humans reading it."""
    sql: str


def known_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this code, by version. A misnamed file or a gap in the
    numbering is a packaging mistake, reported here rather than as a confusing schema later."""
    found = []
    for entry in importlib.resources.files(__name__).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_lowercase_words.sql")
        found.append(Migration(int(match[1]), entry.name.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1, 2, 3 ... without gaps; found {versions}")
    return tuple(found)


async def apply_migrations(conn: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    """Apply, in order, every migration not yet recorded in `schema_migrations`. Opening an
    up-to-date database therefore runs nothing but the ledger look-up."""
    await conn.execute(_CREATE_LEDGER)
    rows = await conn.execute_fetchall("SELECT version FROM schema_migrations")
    applied = {int(row[0]) for row in rows}
    newest_known = max((migration.version for migration in migrations), default=0)
    if applied and max(applied) > newest_known:
        raise SchemaTooNewError(
            f"database schema is at version {max(applied)}, but this registry knows versions up to "
            f"{newest_known}; run a registry at least as new as the one that wrote it, or restore a backup"
        )
    for migration in migrations:
        if migration.version not in applied:
            await _apply(conn, migration)


async def _apply(conn: aiosqlite.Connection, migration: Migration) -> None:
    # executescript is the only way to run a multi-statement file, and it takes no parameters;
    # version is an int and name matched _FILE_NAME, so interpolating them is safe.
    script = (
        "BEGIN IMMEDIATE;\n"
        f"{migration.sql}\n;\n"
        "INSERT INTO schema_migrations (version, name) "
        f"VALUES ({migration.version:d}, '{migration.name}');\n"
        "COMMIT;"
    )
    try:
        await conn.executescript(script)
    except Exception as exc:
        if conn.in_transaction:
            await conn.rollback()
        raise MigrationError(f"migration {migration.name} failed and was rolled back: {exc}") from exc
