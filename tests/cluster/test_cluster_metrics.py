"""A cluster-mode replica's Prometheus scrape shows the latency of its etcd writes, under the same
`registry_store_write_duration_seconds{operation}` series as SQLite mode (real etcd, a real
registry, the real scrape port)."""

from __future__ import annotations

import asyncio

import grpc

from generated.registry.v1 import registry_service_pb2 as rpb
from registry.core.model import HealthStatus
from tests.conftest import StartRegistry
from tests.graph.test_metrics import scrape, value
from tests.helpers.heartbeats import bound_stream
from tests.helpers.registry_api import register, stub


async def test_a_replica_scrape_shows_its_store_write_latencies(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    replica = await start_registry(
        store="etcd", etcd_endpoints=etcd_endpoints, etcd_prefix=etcd_prefix, metrics_port=0
    )
    assert replica.metrics_export is not None
    async with grpc.aio.insecure_channel(replica.address) as channel:
        registry = stub(channel)
        await register(registry, "orders", "orders-1")
        await register(registry, "orders", "orders-2")
        stream = await bound_stream(channel, "orders-1")  # HEALTHY: a status batch goes to etcd
        async with asyncio.timeout(10):
            while replica.catalog.get(("orders", "orders-1")).status is not HealthStatus.HEALTHY:
                await asyncio.sleep(0.01)
        await registry.Deregister(rpb.DeregisterRequest(service_name="orders", instance_id="orders-2"))
        samples = await asyncio.to_thread(scrape, replica.metrics_export.port)
        stream.close()

    series = "registry_store_write_duration_seconds"
    assert value(samples, f"{series}_count", operation="put_instance") == 2
    assert value(samples, f"{series}_count", operation="delete_instance") == 1
    assert value(samples, f"{series}_count", operation="save_batch") >= 1
    for operation in ("put_instance", "delete_instance", "save_batch"):
        total = value(samples, f"{series}_sum", operation=operation)
        assert 0 < total < 10, f"{operation}: {total} s"
