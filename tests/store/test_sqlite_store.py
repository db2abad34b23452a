"""The SQLite store on real files: round trips, batch rules, migrations, WAL, and a real kill -9."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import aiosqlite
import pytest

import registry.store.migrations as migrations_package
from registry.core.model import (
    Dependency,
    DependencyKind,
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    HeartbeatPolicy,
    Instance,
    Registration,
)
from registry.core.ports import StoredState, StoreOpenError
from registry.store.migrations import (
    Migration,
    MigrationError,
    apply_migrations,
    known_migrations,
)
from registry.store.sqlite import SqliteStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_instance(
    service_name: str = "orders",
    instance_id: str = "orders-1",
    *,
    status: HealthStatus = HealthStatus.HEALTHY,
    create_revision: int = 1,
    mod_revision: int = 1,
    version: str = "1.0.0",
) -> Instance:
    """An instance with every field away from its default, so a dropped column shows."""
    registration = Registration(
        service_name=service_name,
        instance_id=instance_id,
        endpoints=(
            Endpoint("grpc", "10.0.0.7", 50051, EndpointProtocol.GRPCS),
            Endpoint("metrics", "10.0.0.7", 9100, EndpointProtocol.HTTP),
        ),
        version=version,
        tags=("primary", "canary", "ünïcode"),
        metadata={"zeta": "last-inserted-first", "region": "eu-west-1", "owner": "Zoë ✓"},
        zone="eu-west-1b",
        weight=37,
        dependencies=(
            Dependency("payments", DependencyKind.HARD),
            Dependency("audit", DependencyKind.OPTIONAL),
        ),
        heartbeat_policy=HeartbeatPolicy(interval=0.25, timeout=1.5, max_failures=7),
    )
    return Instance(
        registration=registration,
        status=status,
        create_time=1_700_000_000.123456,
        update_time=1_700_000_001.654321,
        status_time=1_700_000_002.000001,
        create_revision=create_revision,
        mod_revision=mod_revision,
    )


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[SqliteStore]:
    """An open store that is closed even when the test fails: an unclosed aiosqlite connection
    keeps a non-daemon thread alive and would hang the test run at exit."""
    store = SqliteStore(path)
    try:
        await store.open()
        yield store
    finally:
        await store.close()


async def reopen(path: Path) -> StoredState:
    store = SqliteStore(path)
    try:
        return await store.open()
    finally:
        await store.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with opened(db_path) as store:
        yield store


def ledger(path: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(path) as conn:
        query = "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        return conn.execute(query).fetchall()


async def test_fresh_database_is_empty(db_path: Path) -> None:
    state = await reopen(db_path)
    assert list(state.instances) == []
    assert state.revision_ceiling == 0


async def test_fully_populated_instance_round_trips_exactly(store: SqliteStore, db_path: Path) -> None:
    original = make_instance(status=HealthStatus.DRAINING, create_revision=4, mod_revision=9)
    await store.put_instance(original)
    await store.close()

    (loaded,) = (await reopen(db_path)).instances

    assert loaded == original
    # IntEnum equals int, so check the types too: callers switch on enum members.
    assert type(loaded.status) is HealthStatus
    assert [type(e.protocol) for e in loaded.registration.endpoints] == [EndpointProtocol] * 2
    assert [type(d.kind) for d in loaded.registration.dependencies] == [DependencyKind] * 2
    assert list(loaded.registration.metadata.items()) == list(original.registration.metadata.items())
    assert loaded.registration.heartbeat_policy == HeartbeatPolicy(interval=0.25, timeout=1.5, max_failures=7)


async def test_put_is_idempotent_and_replaces(store: SqliteStore, db_path: Path) -> None:
    first = make_instance()
    await store.put_instance(first)
    await store.put_instance(first)
    await store.put_instance(make_instance("orders", "orders-2"))
    updated = make_instance(version="2.0.0", mod_revision=5)
    await store.put_instance(updated)
    await store.close()

    state = await reopen(db_path)

    assert list(state.instances) == [updated, make_instance("orders", "orders-2")]


async def test_delete_removes_one_and_absent_is_not_an_error(store: SqliteStore, db_path: Path) -> None:
    await store.put_instance(make_instance("orders", "orders-1"))
    await store.put_instance(make_instance("orders", "orders-2"))
    await store.delete_instance(("orders", "orders-1"))
    await store.delete_instance(("orders", "orders-1"))
    await store.delete_instance(("nobody", "never-registered"))
    await store.close()

    state = await reopen(db_path)

    assert [i.key for i in state.instances] == [("orders", "orders-2")]


async def test_save_batch_updates_state_of_stored_rows_only(store: SqliteStore, db_path: Path) -> None:
    kept = make_instance("orders", "kept")
    removed = make_instance("orders", "removed")
    await store.put_instance(kept)
    await store.put_instance(removed)
    await store.delete_instance(removed.key)

    def transitioned(instance: Instance) -> Instance:
        # The registration content changes too: a batch must persist only the state columns.
        return replace(
            instance,
            registration=replace(instance.registration, version="not-persisted-by-a-batch"),
            status=HealthStatus.CRITICAL,
            update_time=1_800_000_000.5,
            status_time=1_800_000_000.5,
            mod_revision=8,
        )

    never_stored = make_instance("orders", "never-stored")
    await store.save_batch([transitioned(kept), transitioned(removed), transitioned(never_stored)], 8)
    await store.close()

    state = await reopen(db_path)

    assert list(state.instances) == [
        replace(
            kept,
            status=HealthStatus.CRITICAL,
            update_time=1_800_000_000.5,
            status_time=1_800_000_000.5,
            mod_revision=8,
        )
    ]
    assert state.revision_ceiling == 8


async def test_save_batch_raises_but_never_lowers_the_ceiling(store: SqliteStore, db_path: Path) -> None:
    await store.save_batch([], 10)
    await store.save_batch([], 3)
    await store.close()
    assert (await reopen(db_path)).revision_ceiling == 10

    async with opened(db_path) as again:
        await again.save_batch([], 11)
    assert (await reopen(db_path)).revision_ceiling == 11


async def test_save_batch_skips_stale_snapshots(store: SqliteStore, db_path: Path) -> None:
    current = make_instance(create_revision=5, mod_revision=6)
    await store.put_instance(current)

    older_incarnation = make_instance(status=HealthStatus.DEAD, create_revision=1, mod_revision=9)
    older_state = make_instance(status=HealthStatus.DEAD, create_revision=5, mod_revision=5)
    await store.save_batch([older_incarnation, older_state], 9)
    await store.close()

    assert list((await reopen(db_path)).instances) == [current]


async def test_failed_batch_changes_nothing_and_store_stays_usable(store: SqliteStore, db_path: Path) -> None:
    first, second = make_instance("orders", "a"), make_instance("orders", "b")
    await store.put_instance(first)
    await store.put_instance(second)
    good = replace(first, status=HealthStatus.DEAD, mod_revision=2)
    # Deliberately ill-typed: a STRICT INTEGER column rejects a REAL, so the second row of the
    # batch fails after the first one succeeded.
    bad = replace(second, mod_revision=2.5)  # type: ignore[arg-type]

    with pytest.raises(sqlite3.IntegrityError):
        await store.save_batch([good, bad], 99)
    later = make_instance("orders", "c")
    await store.put_instance(later)
    await store.close()

    state = await reopen(db_path)
    assert list(state.instances) == [first, second, later]
    assert state.revision_ceiling == 0


async def test_migrations_are_recorded_and_reopen_applies_none(db_path: Path) -> None:
    shipped = sorted(p.stem for p in Path(migrations_package.__file__).parent.glob("*.sql"))
    assert [m.name for m in known_migrations()] == shipped
    assert shipped[0] == "0001_initial"

    await reopen(db_path)
    recorded = ledger(db_path)
    assert [row[:2] for row in recorded] == [(m.version, m.name) for m in known_migrations()]

    async with opened(db_path) as store:
        await store.put_instance(make_instance())
    state = await reopen(db_path)

    assert ledger(db_path) == recorded
    assert list(state.instances) == [make_instance()]


async def test_failed_migration_is_rolled_back(db_path: Path) -> None:
    shipped = known_migrations()
    version = len(shipped) + 1
    sql = "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    broken = Migration(version, f"{version:04d}_broken", sql)

    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        with pytest.raises(MigrationError, match=broken.name):
            await apply_migrations(conn, [*shipped, broken])
        assert not conn.in_transaction

    with sqlite3.connect(db_path) as check:
        tables = {name for (name,) in check.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert "instances" in tables
    assert "half_done" not in tables
    assert [row[0] for row in ledger(db_path)] == [m.version for m in shipped]


async def test_database_from_a_newer_registry_is_refused(db_path: Path) -> None:
    await reopen(db_path)
    future = len(known_migrations()) + 1
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'from_the_future')", (future,))

    store = SqliteStore(db_path)
    try:
        with pytest.raises(StoreOpenError, match=f"version {future}"):
            await store.open()
        with pytest.raises(RuntimeError, match="not open"):
            await store.put_instance(make_instance())
    finally:
        await store.close()


async def test_wal_mode_is_on_in_the_file(store: SqliteStore, db_path: Path) -> None:
    await store.put_instance(make_instance())

    with sqlite3.connect(db_path) as other:
        (mode,) = other.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0


async def test_write_waits_for_a_lock_held_elsewhere(store: SqliteStore, db_path: Path) -> None:
    # An operator's shell or a backup holding the write lock briefly must delay a registration,
    # not fail it: that is what busy_timeout buys.
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.05, other.execute, "ROLLBACK")
        await store.put_instance(make_instance())
        assert not other.in_transaction
    finally:
        other.close()
    await store.close()
    assert list((await reopen(db_path)).instances) == [make_instance()]


async def test_opening_twice_is_refused(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError, match="already open"):
        await store.open()


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from registry.core.model import Endpoint, EndpointProtocol, HealthStatus, Instance, Registration
    from registry.store.sqlite import SqliteStore

    async def main() -> None:
        store = SqliteStore(sys.argv[1])
        await store.open()
        for n in range(20):
            registration = Registration(
                "orders", f"orders-{n}", (Endpoint("grpc", "127.0.0.1", 9000 + n, EndpointProtocol.GRPC),)
            )
            instance = Instance(registration, HealthStatus.HEALTHY, 1.0, 1.0, 1.0, n + 1, n + 1)
            await store.put_instance(instance)
        await store.save_batch([], 20)
        print("ok", flush=True)
        await asyncio.sleep(60)  # never closes: the test kills it with the store open

    asyncio.run(main())
    """
)


async def test_acknowledged_writes_survive_kill_9(db_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITER, str(db_path), cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line == b"ok\n"
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    # No clean close ran, so the commits are still only in the WAL: reopening must recover them.
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0

    state = await reopen(db_path)

    assert sorted((i.instance_id, i.registration.endpoints[0].port) for i in state.instances) == sorted(
        (f"orders-{n}", 9000 + n) for n in range(20)
    )
    assert state.revision_ceiling == 20
