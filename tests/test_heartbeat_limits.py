"""Every way a Heartbeat stream can be refused: order of messages, ownership, rate, caps, input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import pytest

from generated.registry.v1 import heartbeat_service_pb2 as hb
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import (
    CRITICAL,
    HEALTHY,
    BeatStream,
    Watch,
    bound_stream,
    health_of,
    policy,
    status_is,
)
from tests.helpers.registry_api import bad_request_fields, error_reason, register, stub
from tests.helpers.streams import EOF


async def test_the_first_message_must_be_bind(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1")
    stream = BeatStream(channel)
    stream.send(hb.HeartbeatRequest(beat=hb.Beat(sequence=1)))
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["bind"]


async def test_bind_checks_the_names(channel: grpc.aio.Channel) -> None:
    stream = BeatStream(channel)
    stream.send(hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name="Not_A_Service", instance_id="x")))
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["bind.service_name"]


async def test_an_unregistered_instance_is_told_to_register_again(channel: grpc.aio.Channel) -> None:
    stream = BeatStream(channel)
    stream.send(hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name="orders", instance_id="ghost")))
    directive = (await stream.read()).directive
    error = await stream.error()
    assert directive.type == hb.DIRECTIVE_TYPE_REREGISTER
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(error) == "INSTANCE_NOT_FOUND"


async def test_a_second_stream_for_a_bound_instance_is_refused(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
    first = await bound_stream(channel, "orders-1")
    second = BeatStream(channel)
    second.send(hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name="orders", instance_id="orders-1")))
    error = await second.error()
    ack = await first.beat()  # the holder is untouched
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "INSTANCE_ALREADY_BOUND"
    assert ack.status == HEALTHY


async def test_take_over_ends_the_old_stream_without_a_status_change(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(1, 10))
        old = await bound_stream(channel, "orders-1")
        watch = await Watch(api).start()
        new = BeatStream(channel)
        bound = await new.bind("orders-1", take_over=True)
        error = await old.error()
        ack = await new.beat()
        health = await health_of(channel, "orders-1")
        watch.stop()
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "STREAM_TAKEN_OVER"
    assert bound.status == HEALTHY
    assert ack.status == HEALTHY
    assert health.stream_connected
    assert watch.seen == []


async def test_silence_restarts_at_a_take_over_bind(start_registry: StartRegistry) -> None:
    """A token renewal binds a new stream a round trip before its first beat: that gap, on top of
    the old stream's last interval, must not count as a missed beat."""
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(1, 10))
        old = await bound_stream(channel, "orders-1")
        watch = await Watch(api).start()
        await asyncio.sleep(1.1)  # the first miss would come 1.5 s after the old stream's beat
        new = BeatStream(channel)
        await new.bind("orders-1", take_over=True)
        await old.error()
        await asyncio.sleep(0.8)  # 1.9 s after the last beat, 0.8 s after the bind
        ack = await new.beat()
        watch.stop()
    assert ack.status == HEALTHY
    assert watch.seen == []


async def test_beats_faster_than_four_per_interval_are_refused(start_registry: StartRegistry) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(10, 60))
        watch = await Watch(api).start()
        stream = BeatStream(channel)
        await stream.bind("orders-1")
        acks = [await stream.beat() for _ in range(8)]  # the burst allowance
        stream.sequence += 1
        stream.send(hb.HeartbeatRequest(beat=hb.Beat(sequence=stream.sequence)))
        error = await stream.error()
        await watch.next(status_is("orders-1", CRITICAL))  # a stream cut for abuse is a broken stream
        watch.stop()
    assert [a.sequence for a in acks] == list(range(1, 9))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "HEARTBEAT_TOO_FAST"


async def _beats_sent_at(channel: grpc.aio.Channel, sent_times: list[float]) -> BeatStream:
    """A stream bound to orders-1 (interval 10 s) with one beat per send time written at once."""
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(10, 60))
    stream = BeatStream(channel)
    await stream.bind("orders-1")
    for sent_at in sent_times:
        stream.send_beat(sent_at=sent_at)
    return stream


async def test_beats_read_together_are_paced_by_their_send_times(start_registry: StartRegistry) -> None:
    """Beats that queued up (behind a busy registry or a stalled connection) and are read back to
    back are not a burst when their send times are spaced at the allowed rate."""
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(0.1, 5))
        stream = BeatStream(channel)
        await stream.bind("orders-1")
        bound = time.time()
        await asyncio.sleep(0.7)  # 12 beats sent 50 ms apart since the bind, all written now
        for n in range(12):
            stream.send_beat(sent_at=bound + 0.05 * n)
        responses = [await stream.read() for _ in range(12)]
    assert [r.ack.sequence for r in responses] == list(range(1, 13))


async def test_a_client_clock_stepping_back_does_not_cut_the_stream(start_registry: StartRegistry) -> None:
    """Beats at the right pace whose send times jump a minute back (an NTP step on the client)
    are paced by arrival from then on, not refused for having earned nothing."""
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(0.05, 5))
        stream = BeatStream(channel)
        await stream.bind("orders-1")
        acks = []
        for n in range(16):
            stream.send_beat(sent_at=time.time() - (60 if n >= 4 else 0))
            acks.append((await stream.read()).ack.sequence)
            await asyncio.sleep(0.05)
    assert acks == list(range(1, 17))


@pytest.mark.parametrize(
    "sent_at",
    [
        pytest.param(lambda now, n: now + 10 * n, id="ahead-of-the-registry-clock"),
        pytest.param(lambda now, n: now - 10 * n, id="going-backwards"),
        pytest.param(lambda now, n: now - 86_400 + 10 * n, id="starting-far-in-the-past"),
    ],
)
async def test_send_times_cannot_earn_beats_faster_than_the_registry_clock(
    start_registry: StartRegistry, sent_at: Callable[[float, int], float]
) -> None:
    registry = await start_registry(startup_grace_seconds=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        now = time.time()
        stream = await _beats_sent_at(channel, [sent_at(now, n) for n in range(9)])
        acks = [(await stream.read()).ack.sequence for _ in range(8)]
        error = await stream.error()
    assert acks == list(range(1, 9))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "HEARTBEAT_TOO_FAST"


async def test_open_streams_are_capped(start_registry: StartRegistry) -> None:
    registry = await start_registry(max_heartbeat_streams=2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        for n in (1, 2, 3):
            await register(api, "orders", f"orders-{n}", heartbeat_policy=policy(1, 10))
        first = await bound_stream(channel, "orders-1")
        second = await bound_stream(channel, "orders-2")
        third = BeatStream(channel)
        third.send(hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name="orders", instance_id="orders-3")))
        error = await third.error()
        first.goodbye(hb.GOODBYE_REASON_STOP)
        assert await first.call.read() is EOF
        fourth = await bound_stream(channel, "orders-3")  # a slot is free again
        ack = await fourth.beat()
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "TOO_MANY_STREAMS"
    assert ack.status == HEALTHY
    second.close()


async def test_a_stream_that_never_binds_is_ended_and_frees_its_slot(start_registry: StartRegistry) -> None:
    registry = await start_registry(max_heartbeat_streams=1, heartbeat_bind_timeout=0.2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
        idle = BeatStream(channel)  # opens the stream and sends nothing
        error = await idle.error()
        bound = await bound_stream(channel, "orders-1")  # the one slot is free again
        ack = await bound.beat()
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "BIND_TIMEOUT"
    assert ack.status == HEALTHY


async def test_a_sequence_that_does_not_increase_is_refused(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
    stream = await bound_stream(channel, "orders-1")
    stream.send(hb.HeartbeatRequest(beat=hb.Beat(sequence=stream.sequence)))  # a repeat
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["beat.sequence"]


async def test_a_second_bind_on_a_bound_stream_is_refused(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
    stream = await bound_stream(channel, "orders-1")
    stream.send(hb.HeartbeatRequest(bind=hb.HeartbeatBind(service_name="orders", instance_id="orders-1")))
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["bind"]


async def test_load_reports_are_bounded(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
    stream = await bound_stream(channel, "orders-1")
    load = hb.Load(gauges={f"g{n}": float(n) for n in range(17)})
    stream.send(hb.HeartbeatRequest(beat=hb.Beat(sequence=stream.sequence + 1, load=load)))
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["beat.load.gauges"]


async def test_a_goodbye_needs_a_reason(channel: grpc.aio.Channel) -> None:
    await register(stub(channel), "orders", "orders-1", heartbeat_policy=policy(1, 10))
    stream = await bound_stream(channel, "orders-1")
    stream.goodbye(hb.GOODBYE_REASON_UNSPECIFIED)
    error = await stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["goodbye.reason"]
