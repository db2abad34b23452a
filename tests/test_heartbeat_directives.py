"""Directives the registry pushes on a bound stream: DRAIN, SET_INTERVAL and REREGISTER."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import registry_service_pb2 as pb
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import (
    DEAD,
    DRAINING,
    HEALTHY,
    BeatStream,
    Watch,
    bound_stream,
    health_of,
    health_stub,
    policy,
    status_is,
)
from tests.helpers.registry_api import error_reason, register, stub
from tests.helpers.streams import EOF


def _drain(instance_id: str, reason: str = "") -> hb.DrainInstanceRequest:
    return hb.DrainInstanceRequest(service_name="orders", instance_id=instance_id, reason=reason)


async def test_an_operator_drain_takes_the_instance_out_and_tells_its_stream(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(0.05, 1))
        stream = await bound_stream(channel, "orders-1")
        watch = await Watch(api).start()
        drained = await health_stub(channel).DrainInstance(_drain("orders-1", "deploying v2"))
        directive = (await stream.read()).directive
        await watch.next(status_is("orders-1", DRAINING))
        served = await api.Lookup(pb.LookupRequest(service_name="orders"))
        ack = await stream.beat()  # it finishes its in-flight work, still beating
        stream.goodbye(hb.GOODBYE_REASON_DRAIN)
        assert await stream.call.read() is EOF
        await asyncio.sleep(0.2)  # past the break debounce and several intervals: no failure
        health = await health_of(channel, "orders-1")
        watch.stop()

    assert drained.directive_sent
    assert (directive.type, directive.reason) == (hb.DIRECTIVE_TYPE_DRAIN, "deploying v2")
    assert list(served.instances) == []
    assert ack.status == DRAINING
    assert health.status == DRAINING
    assert health.missed_heartbeats == 0
    assert watch.status_changes("orders-1") == [DRAINING]


async def test_drain_without_a_stream_and_drain_refusals(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        health = health_stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(1, 10))
        await register(api, "orders", "orders-2", heartbeat_policy=policy(0.01, 0.02))
        watch = await Watch(api).start()
        quiet = await health.DrainInstance(_drain("orders-1"))
        await watch.next(status_is("orders-2", DEAD))
        with pytest.raises(grpc.aio.AioRpcError) as dead:
            await health.DrainInstance(_drain("orders-2"))
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await health.DrainInstance(_drain("ghost"))
        status = (await health_of(channel, "orders-1")).status
        watch.stop()
    assert not quiet.directive_sent
    assert status == DRAINING
    assert dead.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(dead.value) == "INSTANCE_DEAD"
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_policy_change_is_pushed_to_the_bound_client(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api, "orders", "orders-1", heartbeat_policy=policy(0.1, 5))
    stream = await bound_stream(channel, "orders-1")
    watch = await Watch(api).start()
    await register(api, "orders", "orders-1", heartbeat_policy=policy(0.25, 5))  # an operator's change
    directive = (await stream.read()).directive
    ack = await stream.beat()
    health = await health_of(channel, "orders-1")
    await asyncio.sleep(0.05)
    watch.stop()
    stream.close()
    assert directive.type == hb.DIRECTIVE_TYPE_SET_INTERVAL
    assert directive.interval.ToNanoseconds() == 250_000_000
    assert ack.status == HEALTHY
    assert health.policy.interval.ToNanoseconds() == 250_000_000
    assert watch.types("orders-1") == [pb.WATCH_EVENT_TYPE_UPDATED]  # no REMOVED/ADDED, no status blip


async def test_removing_a_bound_instance_tells_its_stream_to_register_again(
    channel: grpc.aio.Channel,
) -> None:
    api = stub(channel)
    await register(api, "orders", "orders-1", heartbeat_policy=policy(1, 10))
    stream = await bound_stream(channel, "orders-1")
    await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-1"))
    directive = (await stream.read()).directive
    error = await stream.error()
    assert directive.type == hb.DIRECTIVE_TYPE_REREGISTER
    assert error.code() == grpc.StatusCode.NOT_FOUND

    await register(api, "orders", "orders-1", heartbeat_policy=policy(1, 10))
    again = BeatStream(channel)
    bound = await again.bind("orders-1")
    ack = await again.beat()
    again.close()
    assert ack.status == HEALTHY
    assert bound.policy.interval.seconds == 1


async def test_a_drain_survives_a_stream_take_over(channel: grpc.aio.Channel) -> None:
    """A client reconnecting (or rotating its token) binds with take_over: the new stream is told
    to drain again, and its beats keep the instance out of discovery."""
    api = stub(channel)
    await register(api, "orders", "orders-1", heartbeat_policy=policy(0.1, 5))
    first = await bound_stream(channel, "orders-1")
    await health_stub(channel).DrainInstance(_drain("orders-1", "deploying v2"))
    told = (await first.read()).directive
    second = BeatStream(channel)
    bound = await second.bind("orders-1", take_over=True)
    again = (await second.read()).directive
    ack = await second.beat()
    lookup = await api.Lookup(pb.LookupRequest(service_name="orders"))
    first.close()
    second.close()
    assert told.type == hb.DIRECTIVE_TYPE_DRAIN
    assert bound.status == DRAINING
    assert (again.type, again.reason) == (hb.DIRECTIVE_TYPE_DRAIN, "deploying v2")
    assert ack.status == DRAINING
    assert [i.instance_id for i in lookup.instances] == []
