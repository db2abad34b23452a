"""The observed graph of a cluster: a Send relayed by replica A and one relayed by replica B are
both counted by GetDependencyGraph on either replica (real etcd, two replicas, real Inbox target)."""

from __future__ import annotations

import asyncio

import grpc

from generated.registry.v1 import dependency_graph_pb2 as gpb
from generated.registry.v1 import registry_service_pb2 as rpb
from registry.app import Registry
from registry.core.graph_share import MAX_SUMMARY_BYTES
from registry.core.messages import MessageType
from tests.cluster.test_cluster_catalog import replicas
from tests.conftest import StartRegistry
from tests.helpers import registry_api
from tests.helpers.relay_api import QUERY, relay_stub, send_request, targets_for


async def observed_counts(channel: grpc.aio.Channel) -> dict[tuple[str, str], int]:
    response = await registry_api.stub(channel).GetDependencyGraph(
        rpb.GetDependencyGraphRequest(window=gpb.GRAPH_WINDOW_ONE_MINUTE)
    )
    return {
        (edge.source_service, edge.target_service): sum(o.count for o in edge.observed)
        for edge in response.graph.edges
        if edge.observed
    }


async def without_background_exchange(registries: list[Registry]) -> list[Registry]:
    """The replicas, their periodic exchange stopped: the test exchanges when it means to."""
    for registry in registries:
        assert registry.shared_traffic is not None
        await registry.shared_traffic.stop()
    return registries


async def serving(channel: grpc.aio.Channel, service: str) -> None:
    """Until the replica behind `channel` has applied the registration another replica made."""
    async with asyncio.timeout(5):
        while not (
            await registry_api.stub(channel).Lookup(rpb.LookupRequest(service_name=service))
        ).instances:
            await asyncio.sleep(0.01)


async def exchange(*registries: Registry) -> None:
    """One summary round on each replica, now (the background task does it every few seconds)."""
    for registry in registries:
        assert registry.shared_traffic is not None
        await registry.shared_traffic.exchange()
    for registry in registries:
        assert registry.shared_traffic is not None
        await registry.shared_traffic.exchange()


async def test_any_replica_answers_the_graph_of_the_whole_cluster(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b = await without_background_exchange(await replicas(start_registry, etcd_endpoints, etcd_prefix, 2))
    async with (
        grpc.aio.insecure_channel(a.address) as ca,
        grpc.aio.insecure_channel(b.address) as cb,
        targets_for(a.address, ca) as targets,
    ):
        await targets.start("orders-1")
        await serving(cb, "orders")
        billing = (("x-source-service", "billing"),)
        await relay_stub(ca).Send(send_request("orders", "echo", QUERY), metadata=billing, timeout=5)
        for _ in range(2):
            await relay_stub(cb).Send(send_request("orders", "echo", QUERY), metadata=billing, timeout=5)
        assert await observed_counts(ca) == {("billing", "orders"): 1}  # before any exchange: own share
        await exchange(a, b)
        assert await observed_counts(ca) == {("billing", "orders"): 3}
        assert await observed_counts(cb) == {("billing", "orders"): 3}
        await b.stop(grace=0)  # its lease is revoked: its share leaves with it
        await exchange(a)
        assert await observed_counts(ca) == {("billing", "orders"): 1}


async def test_a_full_traffic_table_is_shared_within_the_summary_bound(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b = await without_background_exchange(await replicas(start_registry, etcd_endpoints, etcd_prefix, 2))
    for n in range(1024):  # the edge bound, long names, every status code: the largest summary
        for code in range(17):
            a.traffic.record(
                f"s{n % 4}-{'x' * 200}", f"t{n}-{'y' * 200}", MessageType.QUERY, code, 0.001 * code
            )
    assert len(a.traffic) == 1024
    assert a.shared_traffic is not None
    summary = a.shared_traffic.summary()
    assert MAX_SUMMARY_BYTES // 2 < len(summary) <= MAX_SUMMARY_BYTES
    await exchange(a, b)
    async with grpc.aio.insecure_channel(b.address) as cb:
        response = await registry_api.stub(cb).GetDependencyGraph(
            rpb.GetDependencyGraphRequest(window=gpb.GRAPH_WINDOW_ONE_MINUTE)
        )
    shared = [edge for edge in response.graph.edges if edge.observed]
    assert 0 < len(shared) < 1024
    assert all(edge.observed[0].count == 17 for edge in shared)
    assert response.graph.observed_dropped == 17 * (1024 - len(shared))
