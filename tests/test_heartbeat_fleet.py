"""Whole-fleet behaviour: registry shutdown and restart (grace period), and self-preservation."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc

from generated.registry.v1 import registry_service_pb2 as pb
from registry.core.model import HealthStatus
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import (
    CRITICAL,
    DEAD,
    HEALTHY,
    BeatStream,
    Watch,
    bound_stream,
    policy,
    status_is,
    summary,
)
from tests.helpers.registry_api import Stub, register, stub

IDS = ["orders-1", "orders-2", "orders-3"]
INTERVAL = 0.1
"""Well above a loaded two-core host's scheduling noise (tens of ms while the event loop itself
looks punctual: grpc's threads hold the beat), which the registry cannot tell from a missed
beat; a 20 ms interval made a healthy instance DEGRADED under load."""


async def _keep_beating(stream: BeatStream, interval: float) -> None:
    with contextlib.suppress(grpc.aio.AioRpcError, AssertionError):
        while True:
            await stream.beat()
            await asyncio.sleep(interval)


async def test_a_restart_keeps_the_fleet_and_declares_nobody_dead_during_the_grace_period(
    start_registry: StartRegistry,
) -> None:
    first = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(first.address) as channel:
        api = stub(channel)
        for instance_id in IDS:
            await register(api, "orders", instance_id, heartbeat_policy=policy(INTERVAL, 3 * INTERVAL))
        streams = [await bound_stream(channel, i) for i in IDS]
        beaters = [asyncio.create_task(_keep_beating(s, INTERVAL / 2)) for s in streams]
        await asyncio.sleep(0.05)
        await first.stop(grace=0)  # cancels every stream
        for beater in beaters:
            beater.cancel()
    # Stopping froze liveness before the streams were cut: nobody was marked critical.
    assert [first.catalog.get(("orders", i)).status for i in IDS] == [HealthStatus.HEALTHY] * 3

    grace = 0.5
    started = time.monotonic()  # the grace period starts a little later, inside start_registry
    second = await start_registry(startup_grace_seconds=grace, self_preservation_threshold=1.0)
    ready = time.monotonic()  # the grace period started before this (a loaded start takes long)
    async with grpc.aio.insecure_channel(second.address) as channel:
        api = stub(channel)
        watch = await Watch(api).start()
        during = await summary(channel)
        back = BeatStream(channel)
        await back.bind("orders-1")  # one instance reconnects during the grace period
        beater = asyncio.create_task(_keep_beating(back, INTERVAL / 2))
        await watch.next(status_is("orders-1", HEALTHY))
        dead_at = [(await watch.next(status_is(i, DEAD)))[0] for i in IDS[1:]]
        # Liveness runs on the registry's stall clock: time it was stalled does not count.
        stalled = second.liveness_clock.stalled_seconds
        after = await summary(channel)
        beater.cancel()
        watch.stop()

    assert during.startup_grace_active
    assert during.total.unknown == 3  # registrations survived, status unknown until streams return
    assert all(t - started >= grace for t in dead_at), [t - started for t in dead_at]
    assert all(t - ready - stalled <= grace + 0.3 for t in dead_at), (dead_at, ready, stalled)
    assert watch.status_changes("orders-1") == [HEALTHY]
    assert not after.startup_grace_active
    assert (after.total.healthy, after.total.dead) == (1, 2)


async def _fleet(channel: grpc.aio.Channel, api: Stub, size: int) -> list[BeatStream]:
    streams = []
    for n in range(size):
        await register(api, "orders", f"orders-{n}", heartbeat_policy=policy(1, 30))
        streams.append(await bound_stream(channel, f"orders-{n}"))
    return streams


def _critical(event: pb.WatchEvent) -> bool:
    return event.type == pb.WATCH_EVENT_TYPE_STATUS_CHANGED and event.instance.status == CRITICAL


async def test_self_preservation_holds_a_mass_failure_and_releases_it_at_the_budget_rate(
    start_registry: StartRegistry,
) -> None:
    window = 0.4
    registry = await start_registry(
        startup_grace_seconds=0, self_preservation_threshold=0.3, self_preservation_window_seconds=window
    )
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        streams = await _fleet(channel, api, 10)
        watch = await Watch(api).start()
        for stream in streams[:8]:  # 8 of 10 instances vanish at once
            stream.call.cancel()
        expired = [(await watch.next(_critical))[1] for _ in range(3)]  # the budget: 30% of 10
        engaged = await summary(channel)
        served = await api.Lookup(pb.LookupRequest(service_name="orders"))
        expired += [(await watch.next(_critical))[1] for _ in range(5)]
        await asyncio.sleep(0.05)
        cleared = await summary(channel)
        watch.stop()

    times = [e.instance.status_time.ToNanoseconds() / 1e9 for e in expired]
    start = times[0]
    assert times[2] - start < window / 2
    assert engaged.self_preservation_active
    assert (engaged.total.healthy, engaged.total.critical) == (7, 3)
    assert len(served.instances) == 7  # held instances stay in discovery
    # The rest go at the budget rate: 3 more one window later, the last 2 a window after that.
    late = [t - start for t in times]
    assert all(window - 0.01 <= t <= window + 0.15 for t in late[3:6]), late
    assert all(2 * window - 0.01 <= t <= 2 * window + 0.15 for t in late[6:]), late
    assert not cleared.self_preservation_active
    assert (cleared.total.healthy, cleared.total.critical) == (2, 8)


async def test_self_preservation_clears_when_the_held_instances_beat_again(
    start_registry: StartRegistry,
) -> None:
    window = 0.4
    registry = await start_registry(
        startup_grace_seconds=0, self_preservation_threshold=0.3, self_preservation_window_seconds=window
    )
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        streams = await _fleet(channel, api, 10)
        watch = await Watch(api).start()
        for stream in streams[:8]:
            stream.call.cancel()
        expired = {(await watch.next(_critical))[1].instance.instance_id for _ in range(3)}
        engaged = await summary(channel)
        held = [f"orders-{n}" for n in range(8) if f"orders-{n}" not in expired]
        # Their streams come back (the failure was a network blip).
        returned = [await bound_stream(channel, instance_id) for instance_id in held]
        cleared = await summary(channel)
        await asyncio.sleep(window + 0.1)  # the held expiries are not applied later either
        final = await summary(channel)
        watch.stop()
        for stream in returned:
            stream.close()

    assert engaged.self_preservation_active
    assert not cleared.self_preservation_active
    assert (final.total.healthy, final.total.critical) == (7, 3)
    assert all(watch.status_changes(i) == [] for i in held)
    assert sorted(e.instance.instance_id for e in watch.seen) == sorted(expired)
    assert all(e.instance.status == CRITICAL for e in watch.seen)
