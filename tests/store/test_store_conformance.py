"""One conformance suite for both store backends: the same test functions run over SQLite (one
process) and etcd (cluster mode, a real etcd member), through the core's own catalog on each.

What both must do: registrations and removals durable once acknowledged, revisions that only go up
(across a reopen too), watches with snapshot, ordered changes and resume by revision, status changes
persisted, and nothing resurrected by a late status write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from registry.core.catalog import Catalog
from registry.core.event_filter import EventFilter
from registry.core.events import BusSettings, EventBus, Subscription
from registry.core.messages import Envelope, MessageType
from registry.core.model import ChangeType, HealthStatus, Instance, Registration
from registry.core.replicated_catalog import ReplicatedCatalog
from registry.core.replicated_events import ReplicatedEventBus
from registry.store.etcd import EtcdStore
from registry.store.etcd_client import EtcdClient, EtcdSettings
from registry.store.etcd_events import EtcdEventLog
from registry.store.sqlite import SqliteStore
from registry.store.sqlite_events import SqliteEventLog
from tests.store.test_sqlite_store import make_instance

SETTINGS = {
    "history_limit": 100,
    "watcher_buffer": 100,
    "max_watchers": 10,
    "max_instances": 1000,
    "persist_interval": 0.01,
}


def make_registration(service_name: str = "orders", instance_id: str = "orders-1") -> Registration:
    """Every field away from its default (the SQLite suite's instance, with tags validation takes)."""
    registration = make_instance(service_name, instance_id).registration
    return replace(registration, tags=("primary", "canary"))


BUS_SETTINGS = BusSettings(
    retention_count=1000, retention_seconds=3600.0, subscriber_buffer=100, max_subscribers=10
)

Open = Callable[[], Awaitable[tuple[Catalog, list[Instance]]]]
OpenBus = Callable[[], Awaitable[EventBus]]


class Backend:
    """Opens catalogs and event buses over one backend's data (the same data each time)."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self._request = request
        self._db = tmp_path / "registry.db"
        self._opened: list[Catalog | EventBus] = []
        self._clients: list[EtcdClient] = []

    def _client(self) -> tuple[EtcdClient, str]:
        endpoints = self._request.getfixturevalue("etcd_endpoints")
        prefix = self._request.getfixturevalue("etcd_prefix")
        client = EtcdClient(EtcdSettings(tuple(endpoints.split(",")), prefix=prefix))
        self._clients.append(client)
        return client, prefix

    async def catalog(self) -> tuple[Catalog, list[Instance]]:
        catalog: Catalog
        if self.kind == "sqlite":
            catalog = Catalog(SqliteStore(self._db), **SETTINGS)  # type: ignore[arg-type]
        else:
            client, prefix = self._client()
            catalog = ReplicatedCatalog(EtcdStore(client, prefix), **SETTINGS)  # type: ignore[arg-type]
        self._opened.append(catalog)
        return catalog, await catalog.start()

    async def bus(self) -> EventBus:
        bus: EventBus
        if self.kind == "sqlite":
            await (await self.catalog())[0].close()  # the store migrates the shared file
            bus = EventBus(SqliteEventLog(self._db), BUS_SETTINGS)
        else:
            client, prefix = self._client()
            bus = ReplicatedEventBus(EtcdEventLog(client, prefix), BUS_SETTINGS)
        self._opened.append(bus)
        await bus.start()
        return bus

    async def close(self) -> None:
        for opened in self._opened:
            await opened.close()
        for client in self._clients:
            await client.close()


@pytest.fixture(params=["sqlite", "etcd"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = Backend(request.param, request, tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
def open_catalog(backend: Backend) -> Open:
    return backend.catalog


@pytest.fixture
def open_bus(backend: Backend) -> OpenBus:
    return backend.bus


async def settled(check: Callable[[], bool]) -> None:
    """Wait until `check()` holds: etcd applies status changes when its watch brings them back."""
    async with asyncio.timeout(5):
        while not check():
            await asyncio.sleep(0.005)


async def test_registration_is_read_back_and_survives_a_reopen(open_catalog: Open) -> None:
    catalog, _ = await open_catalog()
    wanted = make_registration()
    instance, created = await catalog.register(wanted)
    assert created
    assert catalog.get(wanted.key).registration == wanted
    assert instance.create_revision == instance.mod_revision == catalog.revision > 0
    again, created_again = await catalog.register(wanted)
    assert (again, created_again) == (instance, False)
    await catalog.close()

    reopened, stored = await open_catalog()
    assert [i.registration for i in stored] == [wanted]
    assert reopened.get(wanted.key).create_revision == instance.create_revision
    assert reopened.revision >= instance.mod_revision


async def test_update_and_removal_advance_the_revision(open_catalog: Open) -> None:
    catalog, _ = await open_catalog()
    first = make_registration()
    created, _ = await catalog.register(first)
    updated, created_now = await catalog.register(replace(first, version="2.0.0"))
    assert not created_now
    assert updated.create_revision == created.create_revision
    assert updated.mod_revision > created.mod_revision
    removed_at = await catalog.deregister(first.key)
    assert removed_at > updated.mod_revision
    assert catalog.find(first.key) is None
    await catalog.close()
    reopened, stored = await open_catalog()
    assert stored == []
    assert reopened.revision >= removed_at


async def test_watch_snapshot_changes_and_resume(open_catalog: Open) -> None:
    catalog, _ = await open_catalog()
    a = make_registration("orders", "a")
    b = make_registration("orders", "b")
    await catalog.register(a)
    watcher = catalog.watch(frozenset({"orders"}), 0)
    assert [i.instance_id for i in watcher.start.snapshot or ()] == ["a"]
    start = watcher.start.revision
    await catalog.register(b)
    await catalog.deregister(a.key)
    seen: list[tuple[ChangeType, str, int]] = []
    batches = watcher.batches(progress_interval=0.05)
    async with asyncio.timeout(5):
        while len(seen) < 2:
            seen += [(c.type, c.instance.instance_id, c.revision) for c in await anext(batches)]
    watcher.close()
    assert [(t, i) for t, i, _ in seen] == [(ChangeType.ADDED, "b"), (ChangeType.REMOVED, "a")]
    assert start < seen[0][2] < seen[1][2]

    resumed = catalog.watch(frozenset({"orders"}), start)
    assert resumed.start.snapshot is None
    assert [(c.type, c.instance.instance_id, c.revision) for c in resumed.start.replay] == seen
    resumed.close()


async def test_status_changes_are_persisted_in_batches(open_catalog: Open) -> None:
    catalog, _ = await open_catalog()
    registration = make_registration()
    await catalog.register(registration)
    watcher = catalog.watch(frozenset(), catalog.revision)
    catalog.set_status(registration.key, HealthStatus.HEALTHY)
    await settled(lambda: catalog.get(registration.key).status is HealthStatus.HEALTHY)
    batches = watcher.batches(progress_interval=0.05)
    async with asyncio.timeout(5):
        changes = await anext(batches)
    assert [(c.type, c.previous_status, c.instance.status) for c in changes] == [
        (ChangeType.STATUS_CHANGED, HealthStatus.UNKNOWN, HealthStatus.HEALTHY)
    ]
    watcher.close()
    await catalog.close()

    _, stored = await open_catalog()
    assert [i.status for i in stored] == [HealthStatus.HEALTHY]


async def test_a_late_status_never_resurrects_a_removed_instance(open_catalog: Open) -> None:
    catalog, _ = await open_catalog()
    registration = make_registration()
    await catalog.register(registration)
    catalog.set_status(registration.key, HealthStatus.CRITICAL)  # queued, not yet written
    await catalog.deregister(registration.key)
    await asyncio.sleep(0.05)  # several persist intervals: the batch has run
    assert catalog.find(registration.key) is None
    await catalog.close()
    _, stored = await open_catalog()
    assert stored == []


def event(name: str, n: int) -> Envelope:
    return Envelope(
        type=MessageType.EVENT,
        name=name,
        payload=bytes([n % 256]) * 3,
        id=f"e{n}",
        source_service="orders",
        create_time=1_700_000_000.0 + n,
    )


async def take(subscription: Subscription, count: int) -> list[Envelope]:
    taken: list[Envelope] = []
    async with asyncio.timeout(5):
        async for delivery in subscription:
            taken.append(delivery.event)
            if len(taken) == count:
                return taken
    return taken


async def test_events_are_sequenced_delivered_live_and_replayed_after_a_sequence(open_bus: OpenBus) -> None:
    bus = await open_bus()
    live = await bus.subscribe(EventFilter(topics=("order.#",)))
    stored = [await bus.publish(event("order.created" if n % 2 else "invoice.sent", n)) for n in range(6)]
    sequences = [e.sequence for e in stored]
    assert sequences == sorted(set(sequences))
    assert sequences[0] > 0
    wanted = [e for e in stored if e.name == "order.created"]
    assert [(e.id, e.sequence, e.payload) for e in await take(live, 3)] == [
        (e.id, e.sequence, e.payload) for e in wanted
    ]
    live.close()
    await bus.close()

    reopened = await open_bus()
    assert reopened.head >= sequences[-1]
    replay = await reopened.subscribe(EventFilter(), after_sequence=sequences[1])
    assert [e.id for e in await take(replay, 4)] == ["e2", "e3", "e4", "e5"]
    replay.close()
