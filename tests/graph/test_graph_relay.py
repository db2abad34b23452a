"""The relay counts every Send on its graph edge: real registry, real Inbox targets, real Sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as rpb
from registry.app import Registry
from registry.core.graph_model import GraphQuery
from registry.core.messages import MessageType
from tests.conftest import StartRegistry
from tests.helpers import registry_api
from tests.helpers.relay_api import COMMAND, QUERY, Targets, relay_stub, send_request, targets_for


@pytest.fixture
async def targets(registry: Registry, channel: grpc.aio.Channel) -> AsyncIterator[Targets]:
    async with targets_for(registry.address, channel) as found:
        yield found


async def test_sends_become_observed_edges_with_codes(
    registry: Registry, channel: grpc.aio.Channel, targets: Targets
) -> None:
    await targets.start("orders-1")
    stub = relay_stub(channel)
    billing = (("x-source-service", "billing"),)
    for _ in range(3):
        await stub.Send(send_request("orders", "echo", QUERY), metadata=billing, timeout=5)
    failing = send_request("orders", "fail", COMMAND, headers={"code": "FAILED_PRECONDITION"})
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Send(failing, metadata=billing, timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.Send(send_request("nobody", "echo", QUERY), metadata=billing, timeout=5)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND

    graph = registry.graph.get(GraphQuery())
    observed = {
        (e.source, e.target, o.kind): (o.stats.count, dict(o.stats.errors))
        for e in graph.edges
        for o in e.observed
    }
    assert observed == {
        ("billing", "orders", MessageType.QUERY): (3, {}),
        ("billing", "orders", MessageType.COMMAND): (1, {9: 1}),
        ("billing", "nobody", MessageType.QUERY): (1, {5: 1}),
    }
    assert graph.differences.undeclared == (("billing", "nobody"), ("billing", "orders"))
    query_edge = next(
        o for e in graph.edges for o in e.observed if o.kind is MessageType.QUERY and e.target == "orders"
    )
    assert 0 < query_edge.stats.p50 <= query_edge.stats.p99 < 5


async def test_a_dependency_version_constraint_is_checked_kept_and_survives_a_restart(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry()
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = registry_api.stub(channel)
        bad = ipb.Dependency(service_name="db", kind=ipb.DEPENDENCY_KIND_HARD, version_constraint=">=banana")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry_api.register(api, "web", "web-1", dependencies=[bad])
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert registry_api.bad_request_fields(refused.value) == [
            "instance.dependencies[0].version_constraint"
        ]
        good = ipb.Dependency(service_name="db", kind=ipb.DEPENDENCY_KIND_HARD, version_constraint="~=2.1")
        await registry_api.register(api, "web", "web-1", dependencies=[good])
    await registry.stop(grace=0)
    registry = await start_registry()
    async with grpc.aio.insecure_channel(registry.address) as channel:
        got = await registry_api.stub(channel).GetInstance(
            rpb.GetInstanceRequest(service_name="web", instance_id="web-1")
        )
    assert [(d.service_name, d.version_constraint) for d in got.instance.dependencies] == [("db", "~=2.1")]
