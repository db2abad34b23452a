"""Registration against a real registry: healthy without user code, through deregistration,
operator drain, policy change, registry restart (same store and empty store), and a registry that
is not up yet when the service starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from client import HealthStatus, InvalidArgumentError, RegistryClient, RegistryClientError
from client.registration import EventKind
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from tests.client.conftest import FAST_BEATS, Connect, client_config
from tests.conftest import StartRegistry
from tests.helpers.registry_api import instance, stub
from tests.helpers.waiting import until


async def statuses_seen(client: RegistryClient, service: str, instance_id: str) -> list[HealthStatus | None]:
    """Every status of one instance as `client`'s watch sees it (None once removed), recorded live."""
    seen: list[HealthStatus | None] = []
    view = client.discovery.view(service)
    await view.wait_ready(2)

    def record(v: object) -> None:
        current = view.instances.get(instance_id)
        status = current.status if current is not None else None
        if not seen or seen[-1] != status:
            seen.append(status)

    view.add_listener(record)
    record(view)
    return seen


async def test_register_beats_healthy_and_stop_drains_then_deregisters(connect: Connect) -> None:
    service = await connect("orders", instance_id="orders-1")
    observer = await connect("observer")
    registration = await service.register("127.0.0.1:9001", version="1.2.3", **FAST_BEATS)
    async with asyncio.timeout(3):
        assert await registration.wait_for_status() is HealthStatus.HEALTHY
    seen = await statuses_seen(observer, "orders", "orders-1")
    [found] = await observer.resolve("orders")
    assert (found.instance_id, found.version, found.endpoints[0].port) == ("orders-1", "1.2.3", 9001)

    await registration.stop()
    await until(lambda: seen[-1] is None)
    assert seen == [HealthStatus.HEALTHY, HealthStatus.DRAINING, None]
    assert registration.stats.beats >= 1
    assert registration.stats.failures == 0


async def test_reregisters_by_itself_after_being_deregistered(
    connect: Connect, channel: grpc.aio.Channel
) -> None:
    service = await connect("orders", instance_id="orders-1")
    # Beats a second apart: the HEALTHY read below must not depend on how busy the machine is.
    registration = await service.register("127.0.0.1:9001", heartbeat_interval=1.0, heartbeat_timeout=10.0)
    async with asyncio.timeout(3):
        await registration.wait_for_status()
    await stub(channel).Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-1"))

    await until(lambda: registration.stats.registrations == 2)
    async with asyncio.timeout(3):
        await registration.wait_for_status()
    got = await stub(channel).GetInstance(
        pb.GetInstanceRequest(service_name="orders", instance_id="orders-1")
    )
    assert got.instance.status == HealthStatus.HEALTHY.value
    kinds = [e.kind for e in registration.events]
    assert EventKind.DIRECTIVE in kinds  # the registry said REREGISTER; the SDK did it


async def test_operator_drain_calls_back_and_keeps_beating(
    connect: Connect, channel: grpc.aio.Channel
) -> None:
    drained = asyncio.Event()
    service = await connect("orders", instance_id="orders-1")
    registration = await service.register("127.0.0.1:9001", on_drain=drained.set, **FAST_BEATS)
    async with asyncio.timeout(3):
        await registration.wait_for_status()
    await hb_grpc.HeartbeatServiceStub(channel).DrainInstance(
        hb.DrainInstanceRequest(service_name="orders", instance_id="orders-1", reason="maintenance")
    )
    async with asyncio.timeout(3):
        await drained.wait()
        await registration.wait_for_status(HealthStatus.DRAINING)
    assert registration.draining
    acks = registration.stats.acks
    await until(lambda: registration.stats.acks >= acks + 3)
    assert registration.status is HealthStatus.DRAINING


async def test_follows_set_interval_when_the_policy_changes(
    connect: Connect, channel: grpc.aio.Channel
) -> None:
    service = await connect("orders", instance_id="orders-1")
    registration = await service.register("127.0.0.1:9001", **FAST_BEATS)
    async with asyncio.timeout(3):
        await registration.wait_for_status()
    assert registration.interval == pytest.approx(0.05)
    changed = instance(
        "orders", "orders-1", heartbeat_policy={"interval": {"nanos": 80_000_000}, "timeout": {"seconds": 1}}
    )
    changed.endpoints[0].host, changed.endpoints[0].port = "127.0.0.1", 9001
    await stub(channel).Register(pb.RegisterRequest(instance=changed))
    await until(lambda: registration.interval == pytest.approx(0.08))
    acks = registration.stats.acks
    await asyncio.sleep(0.4)
    assert 3 <= registration.stats.acks - acks <= 7  # ~5 beats at 80 ms, not ~8 at 50 ms


async def test_back_to_healthy_after_registry_restarts_on_the_same_store(
    start_registry: StartRegistry, registry: Registry
) -> None:
    client = RegistryClient(client_config(registry.address, "orders", instance_id="orders-1"))
    try:
        registration = await client.register("127.0.0.1:9001", **FAST_BEATS)
        async with asyncio.timeout(3):
            await registration.wait_for_status()
        await registry.stop(grace=0)
        await until(lambda: registration.stats.failures >= 1)
        assert registration.status is HealthStatus.UNKNOWN  # nobody confirms it while the registry is down
        await start_registry(port=registry.port)
        async with asyncio.timeout(5):
            await registration.wait_for_status()
        assert registration.stats.registrations == 1  # the store kept it: bound again, no re-register
        assert registration.stats.binds == 2
    finally:
        await client.close()


async def test_reregisters_after_registry_restarts_on_an_empty_store(
    start_registry: StartRegistry, registry: Registry, tmp_path: Path
) -> None:
    client = RegistryClient(client_config(registry.address, "orders", instance_id="orders-1"))
    try:
        registration = await client.register("127.0.0.1:9001", **FAST_BEATS)
        async with asyncio.timeout(3):
            await registration.wait_for_status()
        await registry.stop(grace=0)
        fresh = await start_registry(port=registry.port, db_path=tmp_path / "empty.db")
        await until(lambda: registration.stats.registrations == 2)
        async with asyncio.timeout(5):
            await registration.wait_for_status()
        assert fresh.catalog.revision > 0
    finally:
        await client.close()


async def test_register_before_the_registry_is_up(start_registry: StartRegistry, tmp_path: Path) -> None:
    first = await start_registry()
    port = first.port
    await first.stop(grace=0)
    client = RegistryClient(
        client_config(f"127.0.0.1:{port}", "orders", instance_id="orders-1", call_timeout=0.5)
    )
    try:
        registration = await client.register("127.0.0.1:9001", **FAST_BEATS)  # does not raise
        assert registration.stats.registrations == 0
        await until(lambda: registration.stats.failures >= 2)
        await start_registry(port=port, db_path=tmp_path / "later.db")
        async with asyncio.timeout(5):
            await registration.wait_for_status()
        assert registration.stats.registrations == 1
    finally:
        await client.close()


async def test_a_refused_registration_raises_the_sdk_error(connect: Connect) -> None:
    service = await connect("orders", instance_id="orders-1")
    with pytest.raises(InvalidArgumentError) as refused:
        await service.register("127.0.0.1:0", **FAST_BEATS)  # port 0 is not a port
    assert isinstance(refused.value, RegistryClientError)
    assert not isinstance(refused.value, grpc.RpcError)
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert [v.field for v in refused.value.violations] == ["instance.endpoints[0].port"]
