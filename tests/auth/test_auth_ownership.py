"""A token acts only as its own service: service A can never register, heartbeat, drain or
deregister an instance of service B, while admin can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import registry_service_pb2 as pb
from tests.auth.support import Metadata, bearer, jwt_registry, refused, token
from tests.conftest import StartRegistry
from tests.helpers.registry_api import instance, stub
from tests.helpers.streams import read

PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED


def as_service(service: str, scope: str = "") -> Metadata:
    """Fresh bearer metadata for `service` (minted per call, so a long test run never expires it)."""
    return bearer(token(service, scope=scope))


@pytest.fixture
async def channel(start_registry: StartRegistry) -> AsyncIterator[grpc.aio.Channel]:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as ch:
        yield ch


async def register(channel: grpc.aio.Channel, service: str, instance_id: str, metadata: Metadata) -> None:
    await stub(channel).Register(
        pb.RegisterRequest(instance=instance(service, instance_id)), metadata=metadata
    )


async def instance_ids(channel: grpc.aio.Channel, service: str) -> list[str]:
    response = await stub(channel).ListInstances(
        pb.ListInstancesRequest(service_name=service), metadata=as_service("ops", "admin")
    )
    return [i.instance_id for i in response.instances]


async def test_a_service_registers_and_deregisters_its_own_instances(channel: grpc.aio.Channel) -> None:
    await register(channel, "orders", "orders-1", as_service("orders"))
    assert await instance_ids(channel, "orders") == ["orders-1"]
    request = pb.DeregisterRequest(service_name="orders", instance_id="orders-1")
    await stub(channel).Deregister(request, metadata=as_service("orders"))
    assert await instance_ids(channel, "orders") == []


async def test_service_a_cannot_register_an_instance_of_service_b(channel: grpc.aio.Channel) -> None:
    error = await refused(
        register(channel, "billing", "billing-1", as_service("orders")),
        PERMISSION_DENIED,
        "PERMISSION_DENIED",
    )
    assert error.details() == (
        "rule 'own service' failed: a token for service 'orders' may not act on instances of 'billing'"
    )
    assert await instance_ids(channel, "billing") == []


async def test_service_a_cannot_deregister_an_instance_of_service_b(channel: grpc.aio.Channel) -> None:
    await register(channel, "billing", "billing-1", as_service("billing"))
    request = pb.DeregisterRequest(service_name="billing", instance_id="billing-1")
    error = await refused(
        stub(channel).Deregister(request, metadata=as_service("orders")),
        PERMISSION_DENIED,
        "PERMISSION_DENIED",
    )
    assert "rule 'own service' failed" in (error.details() or "")
    assert await instance_ids(channel, "billing") == ["billing-1"]


async def _bind(
    channel: grpc.aio.Channel, service: str, instance_id: str, metadata: Metadata
) -> hb.HeartbeatResponse:
    """Open a Heartbeat stream, bind, and return the first response (or raise the stream's error)."""
    requests: asyncio.Queue[hb.HeartbeatRequest] = asyncio.Queue()

    async def send() -> AsyncIterator[hb.HeartbeatRequest]:
        while True:
            yield await requests.get()

    call = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(send(), metadata=metadata)
    requests.put_nowait(
        hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name=service, instance_id=instance_id))
    )
    try:
        async with asyncio.timeout(5):
            return await read(call, hb.HeartbeatResponse)
    finally:
        call.cancel()


async def test_service_a_cannot_heartbeat_an_instance_of_service_b(channel: grpc.aio.Channel) -> None:
    await register(channel, "billing", "billing-1", as_service("billing"))
    error = await refused(
        _bind(channel, "billing", "billing-1", as_service("orders")), PERMISSION_DENIED, "PERMISSION_DENIED"
    )
    assert "rule 'own service' failed" in (error.details() or "")
    bound = await _bind(channel, "billing", "billing-1", as_service("billing"))
    assert bound.WhichOneof("kind") == "bound"


async def test_service_a_cannot_drain_an_instance_of_service_b(channel: grpc.aio.Channel) -> None:
    await register(channel, "billing", "billing-1", as_service("billing"))
    request = hb.DrainInstanceRequest(service_name="billing", instance_id="billing-1")
    drain = hb_grpc.HeartbeatServiceStub(channel).DrainInstance(request, metadata=as_service("orders"))
    await refused(drain, PERMISSION_DENIED, "PERMISSION_DENIED")


async def test_admin_acts_on_any_service(channel: grpc.aio.Channel) -> None:
    await register(channel, "billing", "billing-1", as_service("ops", "admin"))
    assert (await _bind(channel, "billing", "billing-1", as_service("ops", "admin"))).WhichOneof(
        "kind"
    ) == "bound"
    request = pb.DeregisterRequest(service_name="billing", instance_id="billing-1")
    await stub(channel).Deregister(request, metadata=as_service("ops", "admin"))
    assert await instance_ids(channel, "billing") == []
