"""`registry status`, run as the real command against a real registry."""

from __future__ import annotations

import json

import grpc

from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.cli import run_cli
from tests.helpers.heartbeats import bound_stream, policy
from tests.helpers.registry_api import register, stub


async def _status(registry: Registry, *args: str) -> str:
    return await run_cli("status", registry.address, *args)


async def test_status_shows_each_instance_and_the_summary(start_registry: StartRegistry) -> None:
    # The table shows the startup grace period on: make it outlast two CLI runs on a loaded host
    # (each a fresh interpreter importing grpc), which can take longer than the default 30 s.
    registry = await start_registry(startup_grace_seconds=3600)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await _show_each_instance_and_the_summary(registry, channel)


async def _show_each_instance_and_the_summary(registry: Registry, channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api, "orders", "orders-1", heartbeat_policy=policy(30, 120))
    await register(api, "orders", "orders-2", heartbeat_policy=policy(30, 120))
    await register(api, "payments", "payments-1", heartbeat_policy=policy(30, 120))
    stream = await bound_stream(channel, "orders-1")
    await stream.beat(rtt_ms=4)

    table = (await _status(registry, "orders")).splitlines()
    document = json.loads(await _status(registry, "--json"))
    stream.close()

    assert table[0].split()[:3] == ["SERVICE", "INSTANCE", "STATUS"]
    assert table[1].split()[:7] == ["orders", "orders-1", "healthy", "yes", "2", "0", "0"]
    assert table[2].split()[:4] == ["orders", "orders-2", "unknown", "no"]
    assert "orders: 1 unknown, 1 healthy, 0 degraded, 0 critical, 0 dead, 0 draining" in table
    assert not any(line.startswith("payments") for line in table)
    assert table[-1].split() == [
        "self-preservation:",
        "off",
        "startup",
        "grace:",
        "on",
        "heartbeat",
        "streams:",
        "1",
    ]

    instances = {i["instance_id"]: i for i in document["instances"]}
    assert sorted(instances) == ["orders-1", "orders-2", "payments-1"]
    assert instances["orders-1"]["heartbeat_count"] == "2"
    assert instances["orders-1"]["max_latency_ms"] == 4
    assert document["summary"]["total"] == {"healthy": 1, "unknown": 2}
    assert document["summary"]["open_streams"] == 1
