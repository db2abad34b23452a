"""Per-instance metrics, listing and the summary, checked against what the test sent."""

from __future__ import annotations

import asyncio
import math
import time

import grpc
import pytest

from generated.registry.v1 import heartbeat_service_pb2 as hb
from registry.app import Registry
from tests.helpers.heartbeats import (
    DEGRADED,
    DRAINING,
    HEALTHY,
    UNKNOWN,
    BeatStream,
    bound_stream,
    health_of,
    health_stub,
    policy,
    summary,
)
from tests.helpers.registry_api import bad_request_fields, register, stub
from tests.helpers.streams import EOF


async def test_metrics_follow_the_beats_the_client_sent(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    interval = 0.05
    # Uptime runs on the registry's stall clock: time the registry itself was stalled (a loaded
    # machine) does not count, so the bounds below take it out of the test's real-time marks.
    stall = registry.liveness_clock
    registered, stalled_at_registered = time.monotonic(), stall.stalled_seconds
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(interval, 5))
    await asyncio.sleep(0.2)
    before = await health_of(channel, "orders-1")
    stalled_before = stall.stalled_seconds - stalled_at_registered

    stream = BeatStream(channel)
    await stream.bind("orders-1")
    load = hb.Load(in_flight=5, cpu=0.5, gauges={"queue.depth": 3.0})
    first_sent = time.monotonic()
    await stream.beat(rtt_ms=10, load=load)
    first_acked, stalled_at_first = time.monotonic(), stall.stalled_seconds
    for rtt in (20, 30):
        await stream.beat(rtt_ms=rtt, load=load)
    beating = await health_of(channel, "orders-1")

    await asyncio.sleep(0.2)  # silence: misses at 1.5, 2.5 and 3.5 intervals
    silent = await health_of(channel, "orders-1")
    ack = await stream.beat(rtt_ms=40)
    asked, stalled_at_asked = time.monotonic(), stall.stalled_seconds
    back = await health_of(channel, "orders-1")
    answered = time.monotonic()

    assert before.status == UNKNOWN
    assert (before.heartbeat_count, before.missed_heartbeats, before.uptime_seconds) == (0, 0, 0)
    assert not before.HasField("last_heartbeat_time")
    assert before.seconds_since_last >= 0.2 - stalled_before  # since registration
    assert not before.stream_connected

    assert beating.status == HEALTHY
    assert beating.stream_connected
    assert beating.heartbeat_count == 3
    assert (beating.missed_heartbeats, beating.consecutive_failures) == (0, 0)
    assert (beating.average_latency_ms, beating.min_latency_ms, beating.max_latency_ms) == (20, 10, 30)
    assert beating.load == load
    assert abs(beating.last_heartbeat_time.ToNanoseconds() / 1e9 - time.time()) < 1
    assert beating.seconds_since_last < 0.05

    expected_misses = math.floor((silent.seconds_since_last - interval / 2) / interval)
    assert expected_misses >= 3
    assert silent.status == DEGRADED  # (not critical: the default startup grace period is on)
    assert silent.consecutive_failures == silent.missed_heartbeats == expected_misses

    assert ack.status == HEALTHY
    assert back.consecutive_failures == 0
    assert back.missed_heartbeats >= silent.missed_heartbeats
    assert back.heartbeat_count == 4
    assert back.max_latency_ms == 40
    assert back.average_latency_ms == 25
    # Unknown until the first beat, serving (healthy or degraded) since.
    stalled_serving = stalled_at_asked - stalled_at_first
    assert asked - first_acked - stalled_serving <= back.uptime_seconds <= answered - first_sent
    serving = (asked - first_acked + answered - first_sent) / 2 - stalled_serving
    observed = asked - registered - (stalled_at_asked - stalled_at_registered)
    assert back.uptime_percentage == pytest.approx(100 * serving / observed, abs=5)


async def test_list_and_summary_cover_every_instance_and_status(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    for service, instance_id in [("orders", "orders-1"), ("orders", "orders-2"), ("orders", "orders-3")]:
        await register(api, service, instance_id, heartbeat_policy=policy(1, 10))
    await register(api, "payments", "payments-1", heartbeat_policy=policy(1, 10))
    staying = await bound_stream(channel, "orders-1")
    leaving = await bound_stream(channel, "orders-2")
    leaving.goodbye(hb.GOODBYE_REASON_DRAIN)
    assert await leaving.call.read() is EOF

    health = health_stub(channel)
    first = await health.ListInstanceHealth(hb.ListInstanceHealthRequest(service_name="orders", page_size=2))
    second = await health.ListInstanceHealth(
        hb.ListInstanceHealthRequest(service_name="orders", page_size=2, page_token=first.next_page_token)
    )
    everything = await health.ListInstanceHealth(hb.ListInstanceHealthRequest())
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await health.ListInstanceHealth(
            hb.ListInstanceHealthRequest(service_name="payments", page_token=first.next_page_token)
        )
    counts = await summary(channel)

    assert [h.instance_id for h in first.healths] == ["orders-1", "orders-2"]
    assert [h.instance_id for h in second.healths] == ["orders-3"]
    assert second.next_page_token == ""
    assert [(h.service_name, h.instance_id) for h in everything.healths] == [
        ("orders", "orders-1"),
        ("orders", "orders-2"),
        ("orders", "orders-3"),
        ("payments", "payments-1"),
    ]
    assert [h.status for h in everything.healths] == [HEALTHY, DRAINING, UNKNOWN, UNKNOWN]
    assert foreign.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(foreign.value) == ["page_token"]

    assert counts.total == hb.StatusCounts(healthy=1, draining=1, unknown=2)
    assert [(s.service_name, s.counts) for s in counts.services] == [
        ("orders", hb.StatusCounts(healthy=1, draining=1, unknown=1)),
        ("payments", hb.StatusCounts(unknown=1)),
    ]
    assert counts.open_streams == 1
    staying.close()
    assert counts.startup_grace_active
    assert not counts.self_preservation_active


async def test_health_of_an_unknown_instance_is_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await health_of(channel, "ghost")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
