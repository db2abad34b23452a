"""Ownership across replicas: the replica holding an instance's stream decides its status, a bind on
another replica takes the instance over, and an instance whose owner left is judged by one survivor
that counts its silence from that moment."""

from __future__ import annotations

import asyncio

import grpc

from registry.app import Registry
from registry.core.model import HealthStatus
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import BeatStream, policy
from tests.helpers.registry_api import error_reason, register, stub


async def replicas(start_registry: StartRegistry, endpoints: str, prefix: str, count: int) -> list[Registry]:
    return [
        await start_registry(
            store="etcd",
            etcd_endpoints=endpoints,
            etcd_prefix=prefix,
            replica_id=f"r{i}",
            startup_grace_seconds=0,
        )
        for i in range(count)
    ]


async def status_on(registry: Registry, instance_id: str, status: HealthStatus) -> None:
    async with asyncio.timeout(5):
        while (found := registry.catalog.find(("orders", instance_id))) is None or found.status is not status:
            await asyncio.sleep(0.01)


async def test_a_bind_on_another_replica_takes_the_instance_over(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b = await replicas(start_registry, etcd_endpoints, etcd_prefix, 2)
    async with grpc.aio.insecure_channel(a.address) as ca, grpc.aio.insecure_channel(b.address) as cb:
        await register(stub(ca), "orders", "o1", heartbeat_policy=policy(0.2, 2.0))
        on_a = BeatStream(ca)
        await on_a.bind("o1")
        await on_a.beat()
        await status_on(b, "o1", HealthStatus.HEALTHY)

        on_b = BeatStream(cb)
        await on_b.bind("o1")
        await on_b.beat()
        error = await on_a.error()
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) == "STREAM_TAKEN_OVER"
        for _ in range(5):  # B decides now; A's broken stream never makes it critical
            await asyncio.sleep(0.2)
            await on_b.beat()
        assert a.catalog.get(("orders", "o1")).status is HealthStatus.HEALTHY
        assert b.catalog.get(("orders", "o1")).status is HealthStatus.HEALTHY
        on_b.close()


async def test_an_instance_whose_owner_left_is_judged_from_then_by_one_survivor(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b = await replicas(start_registry, etcd_endpoints, etcd_prefix, 2)
    async with grpc.aio.insecure_channel(a.address) as ca:
        await register(stub(ca), "orders", "o1", heartbeat_policy=policy(0.2, 1.0))
        stream = BeatStream(ca)
        await stream.bind("o1")
        await stream.beat()
        await status_on(b, "o1", HealthStatus.HEALTHY)
        await a.stop(grace=0)  # gives its lease back: its owner keys vanish at once
    loop = asyncio.get_running_loop()
    left = loop.time()
    await status_on(b, "o1", HealthStatus.DEAD)
    silence = loop.time() - left
    assert 1.0 <= silence < 3.5, silence  # the timeout, counted from the owner's departure
    watched = b.catalog.watch(frozenset({"orders"}), 0)
    assert [i.status for i in watched.start.snapshot or ()] == [HealthStatus.DEAD]
    watched.close()
