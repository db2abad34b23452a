"""Failure detection: real client processes killed with SIGKILL or frozen with SIGSTOP (a silent
loss: the socket stays open, beats stop), stream reconnects, and reaping."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import registry_service_pb2 as pb
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import (
    CRITICAL,
    DEAD,
    DEGRADED,
    HEALTHY,
    BeatStream,
    Watch,
    bound_stream,
    health_of,
    policy,
    removed,
    status_is,
)
from tests.helpers.registry_api import register, stub
from tests.helpers.streams import EOF

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def client_process(
    address: str, instance_id: str, interval_ms: int, timeout_ms: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A heartbeat client process that has registered, bound and had a beat acknowledged."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.helpers.heartbeat_client",
        address,
        instance_id,
        str(interval_ms),
        str(timeout_ms),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            assert (await process.stdout.readline()).strip() == b"ready"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigkill_leaves_the_serving_set_within_a_second(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        watch = await Watch(api).start()
        async with client_process(registry.address, "orders-1", 20, 5000) as process:
            await watch.next(status_is("orders-1", HEALTHY))
            killed = time.monotonic()
            process.send_signal(signal.SIGKILL)
            arrived, event = await watch.next(status_is("orders-1", CRITICAL))
        detection_ms = (arrived - killed) * 1000
        print(f"\nSIGKILL -> CRITICAL watch event: {detection_ms:.1f} ms")
        assert detection_ms < 1000
        assert event.previous_status in (HEALTHY, DEGRADED)  # serving (a 20 ms beat may come late)
        served = await api.Lookup(pb.LookupRequest(service_name="orders"))
        assert list(served.instances) == []
        health = await health_of(channel, "orders-1")
        assert not health.stream_connected
        assert health.status == CRITICAL
        watch.stop()


async def test_silent_loss_degrades_then_goes_critical_then_dead_on_schedule_and_is_reaped(
    start_registry: StartRegistry,
) -> None:
    interval, timeout = 0.04, 0.4
    registry = await start_registry(startup_grace_seconds=0, reap_seconds=0.2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        watch = await Watch(stub(channel)).start()
        async with client_process(registry.address, "orders-1", 40, 400) as process:
            await watch.next(status_is("orders-1", HEALTHY))
            stalled_before = registry.liveness_clock.stalled_seconds
            process.send_signal(signal.SIGSTOP)
            died, _ = await watch.next(status_is("orders-1", DEAD))
            health = await health_of(channel, "orders-1")
            stalled = registry.liveness_clock.stalled_seconds - stalled_before
            reaped, _ = await watch.next(removed("orders-1"))

    # A 40 ms client may come late (and degrade) before it is frozen; what follows its last
    # recovery is the silence alone.
    statuses = watch.status_changes("orders-1")
    since_last_beat = len(statuses) - statuses[::-1].index(HEALTHY)
    silence = [e for e in watch.seen if e.type == pb.WATCH_EVENT_TYPE_STATUS_CHANGED][since_last_beat:]
    assert [e.instance.status for e in silence] == [DEGRADED, CRITICAL, DEAD]
    last_beat = health.last_heartbeat_time.ToNanoseconds() / 1e9
    late = [e.instance.status_time.ToNanoseconds() / 1e9 - last_beat for e in silence]
    expected = [1.5 * interval, 3.5 * interval, timeout + interval / 2]
    # Silence runs on the stall clock: time the registry itself was stalled (a loaded machine)
    # is not silence, and moves the statuses (and the last beat as read back) by up to that much.
    for got, due in zip(late, expected, strict=True):
        assert due - 0.002 - stalled <= got <= due + 0.1 + stalled, (late, expected, stalled)
    assert health.stream_connected  # the socket is still open: only the missing beats tell
    assert health.status == DEAD
    assert health.consecutive_failures == health.missed_heartbeats >= 10
    assert 0.2 - 0.01 <= reaped - died <= 0.2 + 1  # reap_seconds after death (then a store write)
    assert watch.types("orders-1").count(pb.WATCH_EVENT_TYPE_REMOVED) == 1
    watch.stop()


async def _beat_for(stream: BeatStream, seconds: float, interval: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await stream.beat()
        await asyncio.sleep(interval)


async def test_a_quick_reconnect_produces_no_event_at_all(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(0.2, 2))
        first = await bound_stream(channel, "orders-1")
        watch = await Watch(api).start()
        first.call.cancel()  # the old stream dies; the client reconnects at once
        second = BeatStream(channel)
        await second.bind("orders-1", take_over=True)
        await _beat_for(second, 0.2, 0.05)  # well past the stream-break debounce
        health = await health_of(channel, "orders-1")
        assert watch.seen == []
        assert health.status == HEALTHY
        assert health.stream_connected
        assert health.heartbeat_count >= 2
        watch.stop()
        second.close()


async def test_a_reconnect_within_the_timeout_returns_to_healthy_without_reregistering(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(0.05, 2))
        first = await bound_stream(channel, "orders-1")
        await first.beat()
        watch = await Watch(api).start()
        first.close()  # the stream ends without a goodbye
        await watch.next(status_is("orders-1", CRITICAL))
        second = BeatStream(channel)
        bound = await second.bind("orders-1")
        ack = await second.beat()
        await watch.next(status_is("orders-1", HEALTHY))
        health = await health_of(channel, "orders-1")

    assert bound.status == CRITICAL
    assert ack.status == HEALTHY
    assert watch.types("orders-1") == [pb.WATCH_EVENT_TYPE_STATUS_CHANGED] * 2  # no REMOVED/ADDED
    assert watch.status_changes("orders-1") == [CRITICAL, HEALTHY]
    assert health.heartbeat_count == 3  # one record throughout: the count carried over
    watch.stop()


async def test_a_goodbye_is_not_a_failure(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(0.02, 0.5))
        stream = await bound_stream(channel, "orders-1")
        watch = await Watch(api).start()
        stream.goodbye(hb.GOODBYE_REASON_STOP)
        assert await stream.call.read() is EOF
        assert await stream.call.code() == grpc.StatusCode.OK
        await asyncio.sleep(0.15)  # past the debounce and several intervals
        health = await health_of(channel, "orders-1")
        await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-1"))
        await watch.next(removed("orders-1"))

    assert health.status == HEALTHY
    assert health.missed_heartbeats == 0
    assert watch.types("orders-1") == [pb.WATCH_EVENT_TYPE_REMOVED]
    watch.stop()
