"""Register, GetInstance, Deregister through a real server: identity, idempotency, revisions."""

from __future__ import annotations

import asyncio
import enum

import grpc
import pytest
from google.protobuf import duration_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from registry.core import model
from tests.conftest import StartRegistry
from tests.helpers.registry_api import Stub, endpoint, error_info, error_reason, instance, register, stub


async def _revision(api: Stub) -> int:
    return (await api.ListServices(pb.ListServicesRequest())).revision


async def test_register_then_get_round_trips_every_field(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    sent = instance(
        "orders",
        "orders-7",
        endpoints=[endpoint(9000), endpoint(8080, protocol=ipb.ENDPOINT_PROTOCOL_HTTP, name="admin")],
        version="1.4.2-rc.1",
        tags=["blue", "canary"],
        metadata={"team": "checkout", "git/sha": "abc123"},
        zone="eu-west-1a",
        weight=250,
        dependencies=[ipb.Dependency(service_name="payments", kind=ipb.DEPENDENCY_KIND_HARD)],
        heartbeat_policy=ipb.HeartbeatPolicy(
            interval=duration_pb2.Duration(nanos=500_000_000),
            timeout=duration_pb2.Duration(seconds=5),
            max_failures=4,
        ),
    )
    registered = await api.Register(pb.RegisterRequest(instance=sent))
    got = (
        await api.GetInstance(pb.GetInstanceRequest(service_name="orders", instance_id="orders-7"))
    ).instance

    assert registered.created
    assert got == registered.instance
    assert got.name == "services/orders/instances/orders-7"
    assert [(e.name, e.port, e.protocol) for e in got.endpoints] == [
        ("grpc", 9000, ipb.ENDPOINT_PROTOCOL_GRPC),  # unnamed endpoints take the protocol's name
        ("admin", 8080, ipb.ENDPOINT_PROTOCOL_HTTP),
    ]
    assert (got.version, list(got.tags), got.zone, got.weight) == (
        "1.4.2-rc.1",
        ["blue", "canary"],
        "eu-west-1a",
        250,
    )
    assert dict(got.metadata) == {"team": "checkout", "git/sha": "abc123"}
    assert [(d.service_name, d.kind) for d in got.dependencies] == [("payments", ipb.DEPENDENCY_KIND_HARD)]
    assert got.heartbeat_policy.interval.ToMilliseconds() == 500
    assert got.heartbeat_policy.timeout.seconds == 5
    assert got.heartbeat_policy.max_failures == 4
    assert got.status == ipb.HEALTH_STATUS_UNKNOWN
    assert got.create_revision == got.mod_revision == await _revision(api)
    assert got.create_time == got.update_time == got.status_time
    assert got.create_time.seconds > 1_600_000_000


async def test_defaults_fill_unset_fields(channel: grpc.aio.Channel) -> None:
    got = (await register(stub(channel), weight=0, tags=["a", "b", "a"])).instance

    assert got.weight == 100
    assert list(got.tags) == ["a", "b"]  # duplicates dropped, order kept
    policy = got.heartbeat_policy
    assert (policy.interval.seconds, policy.timeout.seconds, policy.max_failures) == (10, 30, 3)


async def test_same_registration_again_changes_nothing(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    first = await register(api, tags=["a"], metadata={"k": "v"})
    revision = await _revision(api)

    # Equal after normalisation: explicit defaults and a duplicate tag mean the same thing.
    again = await register(api, tags=["a", "a"], metadata={"k": "v"}, weight=100)

    assert not again.created
    assert again.instance == first.instance
    assert await _revision(api) == revision


async def test_changed_registration_updates_in_place(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    first = (await register(api, version="1.0.0")).instance
    await asyncio.sleep(0.01)  # so update_time can differ from create_time
    updated = await register(api, version="1.1.0")

    assert not updated.created
    got = updated.instance
    assert got.version == "1.1.0"
    assert got.create_revision == first.create_revision
    assert got.mod_revision == first.mod_revision + 1
    assert got.create_time == first.create_time
    assert got.update_time.ToNanoseconds() > first.update_time.ToNanoseconds()
    listed = await api.ListInstances(pb.ListInstancesRequest(service_name="orders"))
    assert [i.instance_id for i in listed.instances] == ["orders-1"]


async def test_re_registering_keeps_the_status(registry: Registry, channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api, version="1.0.0")
    registry.catalog.set_status(("orders", "orders-1"), model.HealthStatus.HEALTHY)

    updated = (await register(api, version="2.0.0")).instance

    assert updated.status == ipb.HEALTH_STATUS_HEALTHY


async def test_deregister_removes_and_returns_the_revision(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api)
    before = await _revision(api)

    removed = await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-1"))

    assert removed.revision == before + 1 == await _revision(api)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await api.GetInstance(pb.GetInstanceRequest(service_name="orders", instance_id="orders-1"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await api.ListServices(pb.ListServicesRequest())).services == []


@pytest.mark.parametrize("method", ["GetInstance", "Deregister"])
async def test_unknown_instance_is_not_found(channel: grpc.aio.Channel, method: str) -> None:
    api = stub(channel)
    await register(api)
    request_type = pb.GetInstanceRequest if method == "GetInstance" else pb.DeregisterRequest

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(api, method)(request_type(service_name="orders", instance_id="orders-2"))

    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(error.value) == "INSTANCE_NOT_FOUND"
    assert dict(error_info(error.value).metadata) == {"service": "orders", "instance": "orders-2"}


async def test_concurrent_registrations_are_all_kept_with_unique_revisions(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    start = await _revision(api)

    responses = await asyncio.gather(*(register(api, f"svc-{n % 7}", f"inst-{n}") for n in range(200)))

    revisions = sorted(r.instance.mod_revision for r in responses)
    assert all(r.created for r in responses)
    assert revisions == list(range(start + 1, start + 201))  # unique, increasing, no gaps
    listed = await api.ListInstances(pb.ListInstancesRequest(page_size=1000))
    assert len(listed.instances) == 200
    assert listed.revision == start + 200


async def test_instance_limit_is_enforced(start_registry: StartRegistry) -> None:
    registry = await start_registry(max_instances=2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, instance_id="a")
        await register(api, instance_id="b")

        with pytest.raises(grpc.aio.AioRpcError) as full:
            await register(api, instance_id="c")
        updated = await register(api, instance_id="b", version="2.0.0")  # updates still pass

    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(full.value) == "TOO_MANY_INSTANCES"
    assert error_info(full.value).metadata["limit"] == "2"
    assert not updated.created


@pytest.mark.parametrize(
    ("proto_enum", "domain_enum", "prefix"),
    [
        (ipb.EndpointProtocol, model.EndpointProtocol, "ENDPOINT_PROTOCOL_"),
        (ipb.DependencyKind, model.DependencyKind, "DEPENDENCY_KIND_"),
        (ipb.HealthStatus, model.HealthStatus, "HEALTH_STATUS_"),
        (pb.WatchEventType, model.ChangeType, "WATCH_EVENT_TYPE_"),
    ],
)
def test_domain_enums_mirror_the_proto_numbers(
    proto_enum: EnumTypeWrapper, domain_enum: type[enum.IntEnum], prefix: str
) -> None:
    # Conversion is a cast because the numbers agree; this keeps them agreeing.
    proto_values = {
        name.removeprefix(prefix): number
        for name, number in proto_enum.items()
        if not name.endswith("_UNSPECIFIED")
    }
    assert proto_values == {member.name: member.value for member in domain_enum}
