"""Clients that stop reading: what they cost the registry is bounded, and when they go away the
registry's log stays clean (no client may cause an ERROR line or a traceback)."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest

from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from registry.app import Registry
from tests.helpers.registry_api import register, stub

NEVER_READS = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16 * 1024)]
"""A client that takes at most 16 KiB ahead of what it reads: the rest stays with the server."""


async def _big_catalog(channel: grpc.aio.Channel, instances: int = 300) -> None:
    metadata = {f"k{n}": "v" * 400 for n in range(8)}  # about 3.3 KiB per instance
    api = stub(channel)
    for n in range(instances):
        await register(api, "orders", f"orders-{n}", metadata=metadata)


async def test_never_reading_watchers_that_disconnect_leave_no_error_in_the_log(
    registry: Registry, channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    await _big_catalog(channel)  # a snapshot of about 1 MiB: the server's writes block
    for _ in range(3):
        channels = [grpc.aio.insecure_channel(registry.address, options=NEVER_READS) for _ in range(10)]
        calls = [pb_grpc.RegistryServiceStub(ch).Watch(pb.WatchRequest()) for ch in channels]
        for call in calls:
            first = await asyncio.wait_for(call.read(), 5)
            assert first.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
        await asyncio.sleep(0.2)  # the server is now stuck writing the rest of the snapshot
        for ch in channels:
            await ch.close()
        await asyncio.sleep(0.2)
    for _ in range(100):
        if registry.catalog.watch_hub.watcher_count == 0:
            break
        await asyncio.sleep(0.02)
    assert registry.catalog.watch_hub.watcher_count == 0  # every slot is back
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
