"""Cluster mode with several registry replicas on one etcd: any replica answers any RPC, and
a revision from one replica resumes a watch on another."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

import grpc

from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.etcd import free_port
from tests.helpers.heartbeats import Watch
from tests.helpers.registry_api import register, stub


def named(instance_id: str) -> Callable[[pb.WatchEvent], bool]:
    return lambda event: event.instance.instance_id == instance_id


async def replicas(start_registry: StartRegistry, endpoints: str, prefix: str, count: int) -> list[Registry]:
    return [
        await start_registry(store="etcd", etcd_endpoints=endpoints, etcd_prefix=prefix, replica_id=f"r{i}")
        for i in range(count)
    ]


async def test_register_on_a_is_seen_by_lookup_on_b_and_watch_on_c_within_100ms(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b, c = await replicas(start_registry, etcd_endpoints, etcd_prefix, 3)
    async with (
        grpc.aio.insecure_channel(a.address) as ca,
        grpc.aio.insecure_channel(b.address) as cb,
        grpc.aio.insecure_channel(c.address) as cc,
    ):
        watch = await Watch(stub(cc), ["orders"]).start()
        delays = []
        for n in range(100):
            sent = time.monotonic()
            response = await register(stub(ca), "orders", f"orders-{n}")
            arrived, event = await watch.next(named(f"orders-{n}"))
            delays.append(arrived - sent)
            assert event.type == pb.WATCH_EVENT_TYPE_ADDED
            assert event.revision == response.instance.mod_revision
        found = await stub(cb).Lookup(pb.LookupRequest(service_name="orders"))
        watch.stop()
    assert len(found.instances) == 100
    assert found.revision >= response.instance.mod_revision
    delays.sort()
    assert delays[98] < 0.1, f"p99 propagation {delays[98] * 1000:.1f} ms"


async def test_a_watcher_resumes_on_another_replica_with_no_loss_and_no_repeat(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    a, b = await replicas(start_registry, etcd_endpoints, etcd_prefix, 2)
    async with grpc.aio.insecure_channel(a.address) as ca, grpc.aio.insecure_channel(b.address) as cb:
        await register(stub(ca), "orders", "orders-0")
        watch = await Watch(stub(ca), ["orders"]).start()
        for n in range(1, 4):
            await register(stub(cb), "orders", f"orders-{n}")
        for n in range(1, 4):
            await watch.next(named(f"orders-{n}"))
        last = watch.seen[-1].revision
        watch.stop()
        for n in range(4, 7):  # while the watcher is away
            await register(stub(ca), "orders", f"orders-{n}")
        await asyncio.sleep(0)
        resumed = stub(cb).Watch(pb.WatchRequest(service_names=["orders"], after_revision=last))
        seen: list[pb.WatchEvent] = []
        async with asyncio.timeout(5):
            while len(seen) < 3:
                response = await resumed.read()
                assert isinstance(response, pb.WatchResponse)
                assert response.kind != pb.WATCH_RESPONSE_KIND_SNAPSHOT
                seen.extend(response.events)
        resumed.cancel()
    assert [e.instance.instance_id for e in seen] == ["orders-4", "orders-5", "orders-6"]
    revisions = [e.revision for e in seen]
    assert revisions == sorted(set(revisions))
    assert revisions[0] > last


async def test_the_cli_takes_several_addresses_and_skips_a_dead_one(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str
) -> None:
    (a,) = await replicas(start_registry, etcd_endpoints, etcd_prefix, 1)
    async with grpc.aio.insecure_channel(a.address) as channel:
        await register(stub(channel), "orders", "orders-1")
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry.cli.main",
        "ls",
        "--address",
        f"{dead},{a.address}",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "orders" in out.decode()
