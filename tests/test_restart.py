"""A stop and start on the same database: registrations survive, come back UNKNOWN, and revisions
keep growing. (The kill -9 variant of this runs the real process: tests/test_process.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import grpc

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2 as rpb
from registry.core.model import HealthStatus
from registry.store.sqlite import SqliteStore
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import STEP, bound_stream
from tests.helpers.registry_api import register, stub
from tests.helpers.relay_api import relay_stub
from tests.helpers.streams import read


async def test_registrations_survive_a_restart_and_come_back_unknown(start_registry: StartRegistry) -> None:
    first = await start_registry()
    async with grpc.aio.insecure_channel(first.address) as channel:
        api = stub(channel)
        for n in range(5):
            await register(api, "orders", f"o{n}", version=f"1.{n}.0", metadata={"n": str(n)})
        await register(api, "payments", "p0")
        await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="o4"))
        first.catalog.set_status(("orders", "o1"), HealthStatus.HEALTHY)
        before = await api.ListInstances(pb.ListInstancesRequest())
    await first.stop()

    second = await start_registry()
    async with grpc.aio.insecure_channel(second.address) as channel:
        api = stub(channel)
        after = await api.ListInstances(pb.ListInstancesRequest())
        added = await register(api, "orders", "o9")

    def keyed(instances: Iterable[ipb.Instance]) -> dict[tuple[str, str], ipb.Instance]:
        return {(i.service_name, i.instance_id): i for i in instances}

    assert (
        set(keyed(after.instances))
        == set(keyed(before.instances))
        == {
            ("orders", "o0"),
            ("orders", "o1"),
            ("orders", "o2"),
            ("orders", "o3"),
            ("payments", "p0"),
        }
    )
    for key, instance in keyed(after.instances).items():
        old = keyed(before.instances)[key]
        assert instance.status == ipb.HEALTH_STATUS_UNKNOWN
        assert (instance.version, dict(instance.metadata)) == (old.version, dict(old.metadata))
        assert (instance.create_revision, instance.create_time) == (old.create_revision, old.create_time)
    assert after.revision > before.revision
    assert added.instance.create_revision > after.revision > before.revision


async def test_status_changes_reach_the_store_by_the_batched_writer(start_registry: StartRegistry) -> None:
    registry = await start_registry()
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await register(stub(channel), "orders", "o1")
    change = registry.catalog.set_status(("orders", "o1"), HealthStatus.DRAINING)
    db_path = registry.config.db_path
    await registry.stop()  # flushes what the writer still holds

    store = SqliteStore(db_path)
    state = await store.open()
    await store.close()

    assert change is not None
    (stored,) = state.instances
    assert (stored.status, stored.mod_revision) == (HealthStatus.DRAINING, change.revision)
    assert state.revision_ceiling > change.revision  # a block of revisions reserved ahead


async def test_a_watcher_from_before_the_restart_gets_a_fresh_snapshot(start_registry: StartRegistry) -> None:
    first = await start_registry()
    async with grpc.aio.insecure_channel(first.address) as channel:
        await register(stub(channel), "orders", "o1")
        seen = first.catalog.revision
    await first.stop()

    second = await start_registry()
    async with grpc.aio.insecure_channel(second.address) as channel:
        call = stub(channel).Watch(pb.WatchRequest(after_revision=seen))
        start = await read(call, pb.WatchResponse)
        call.cancel()

    assert start.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
    assert start.compact_revision > seen
    assert [e.instance.instance_id for e in start.events] == ["o1"]


async def test_a_restart_does_not_announce_its_fleet_ready_again(start_registry: StartRegistry) -> None:
    """`registry.instance.ready` is said once per registration: o1 was ready before the restart,
    o2 was registered but had not beaten yet, so only o2 is announced after it."""
    first = await start_registry()
    async with grpc.aio.insecure_channel(first.address) as channel:
        await register(stub(channel), "orders", "o1")
        await register(stub(channel), "orders", "o2")
        (await bound_stream(channel, "o1")).close()
    await first.stop()

    second = await start_registry()
    ready = rpb.ListEventsRequest(filter=rpb.EventFilter(topics=["registry.instance.ready"]))
    async with grpc.aio.insecure_channel(second.address) as channel:
        for instance_id in ("o1", "o2"):
            await bound_stream(channel, instance_id)
        async with asyncio.timeout(STEP):  # events are stored by the bus's next commit
            while len(announced := (await relay_stub(channel).ListEvents(ready)).events) < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # room for a wrong third announcement to be stored
        announced = (await relay_stub(channel).ListEvents(ready)).events

    assert [event.headers["instance-id"] for event in announced] == ["o1", "o2"]
