"""Clients that stop reading: what they cost the registry is bounded, and when they go away the
registry's log stays clean (no client may cause an ERROR line or a traceback)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.process import running_server
from tests.helpers.registry_api import error_reason, register, stub
from tests.helpers.streams import StreamingCall, read, read_or_end

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
            first = await asyncio.wait_for(read(call, pb.WatchResponse), 5)
            assert first.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
        await asyncio.sleep(0.2)  # the server is now stuck writing the rest of the snapshot
        for ch in channels:
            await ch.close(None)
        await asyncio.sleep(0.2)
    for _ in range(100):
        if registry.catalog.watch_hub.watcher_count == 0:
            break
        await asyncio.sleep(0.02)
    assert registry.catalog.watch_hub.watcher_count == 0  # every slot is back
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _read_to_the_end(call: StreamingCall) -> None:
    while await read_or_end(call, pb.WatchResponse) is not None:
        pass


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")  # pragma: no cover


async def test_stalled_watchers_hold_about_their_snapshot_not_many_times_it(tmp_path: Path) -> None:
    """Was 8-11x the snapshot per watcher (the pending protobuf messages); now about 1.5x."""
    watchers = 300
    with running_server(tmp_path / "registry.db") as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            api = stub(channel)
            for n in range(200):
                await register(api, "orders", f"orders-{n}", metadata={"team": "checkout", "k": "v" * 40})
            snapshot, call = 0, pb_grpc.RegistryServiceStub(channel).Watch(pb.WatchRequest())
            while True:
                response = await asyncio.wait_for(read(call, pb.WatchResponse), 5)
                snapshot += response.ByteSize()
                if not response.snapshot_continues:
                    break
            call.cancel()
        await asyncio.sleep(0.3)
        before = _rss_kib(server.proc.pid)
        channels = [grpc.aio.insecure_channel(server.address, options=NEVER_READS) for _ in range(3)]
        try:
            calls = [
                pb_grpc.RegistryServiceStub(channels[n % 3]).Watch(pb.WatchRequest()) for n in range(watchers)
            ]
            await asyncio.wait_for(asyncio.gather(*(c.initial_metadata() for c in calls)), 20)
            await asyncio.sleep(1.0)  # every watcher's snapshot is written as far as it will go
            held = (_rss_kib(server.proc.pid) - before) * 1024 / watchers
        finally:
            for ch in channels:
                await ch.close(None)
    assert held < 3 * snapshot, (
        f"{held / 1024:.0f} KiB held per watcher for a {snapshot / 1024:.0f} KiB snapshot"
    )


async def test_a_stalled_watcher_is_cut_by_bytes_before_its_count_limit(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry(watch_buffer=1_000, watch_buffer_bytes=64 * 1024)
    async with (
        grpc.aio.insecure_channel(registry.address) as channel,
        grpc.aio.insecure_channel(registry.address, options=NEVER_READS) as stalled,
    ):
        api = stub(channel)
        call = pb_grpc.RegistryServiceStub(stalled).Watch(pb.WatchRequest(service_names=["fat"]))
        first = await asyncio.wait_for(read(call, pb.WatchResponse), 5)
        assert first.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
        hub = registry.catalog.watch_hub
        metadata = {f"k{n}": "v" * 500 for n in range(20)}  # about 10 KiB per change
        changes = 0
        while hub.cut == 0 and changes < 200:
            await register(api, "fat", f"i-{changes:03d}", metadata=metadata)
            changes += 1
        # What the stream writes is in flight (up to the client's window and one response);
        # what waits behind it is at most 64 KiB: about 6 changes, far below the 1,000 allowed.
        assert hub.cut == 1
        assert changes < 40
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(_read_to_the_end(call), 10)
        assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_reason(ended.value) == "WATCHER_FELL_BEHIND"
        assert hub.watcher_count == 0
