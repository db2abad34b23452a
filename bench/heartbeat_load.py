"""Heartbeat load generator (run as its own process): COUNT streams beating once per INTERVAL.

    python -m bench.heartbeat_load ADDRESS registry|etcd|echo FIRST COUNT INTERVAL SECONDS

`registry` registers instances bench-FIRST .. bench-(FIRST+COUNT-1) of service `bench` (idempotent,
so a restarted registry just confirms them), binds one Heartbeat stream each and beats; `etcd`
grants one lease per instance (TTL ten intervals) and keeps it alive on its own LeaseKeepAlive
stream, one keep-alive per interval, which is what an etcd-based registration does; `echo`
sends the same number of small messages on bare bidi echo streams (bench/echo_server.py), the
floor. Each stream starts at a random phase of the interval, so load is spread evenly.

Protocol with the driver, one line each on stdout: `ready N` once every stream has had a reply;
then, after the driver writes a line to stdin, the generator measures acks for SECONDS and prints
one JSON line (`acks`, `p50`, `p99` in ms, `binds`), and keeps beating until killed. A stream that
fails reconnects after a random 0-1 s (binding with take_over), as a real client would after a
registry restart; `binds` counts binds, so the driver can tell when everyone is back.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import uvloop
from google.protobuf import duration_pb2

from bench import etcd_wire
from bench.echo_server import STREAM
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc

STREAMS_PER_CHANNEL = 200
CHANNEL_OPTIONS = [
    ("grpc.use_local_subchannel_pool", 1),  # one connection per channel, as separate clients have
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
ECHO_PAYLOAD = b"x" * 32
REGISTER_CONCURRENCY = 256
"""Registrations (or lease grants) in flight per generator: concurrent opens, as a fleet has."""
LEASES: dict[int, int] = {}
"""etcd mode: instance number -> its lease id."""


class Stats:
    def __init__(self, count: int) -> None:
        self.count = count
        self.latencies: list[float] = []
        self.measuring = False
        self.binds = 0
        self.replied: set[int] = set()
        self.all_replied = asyncio.Event()

    def reply(self, n: int) -> None:
        self.replied.add(n)
        if len(self.replied) == self.count:
            self.all_replied.set()


def _duration(seconds: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration


def _instance(n: int, interval: float) -> ipb.Instance:
    return ipb.Instance(
        service_name="bench",
        instance_id=f"bench-{n}",
        endpoints=[ipb.Endpoint(host="10.0.0.1", port=1 + n % 60000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)],
        heartbeat_policy=ipb.HeartbeatPolicy(
            interval=_duration(interval), timeout=_duration(10 * interval), max_failures=3
        ),
    )


async def _register(channel: grpc.aio.Channel, first: int, count: int, interval: float) -> None:
    stub = pb_grpc.RegistryServiceStub(channel)
    semaphore = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def one(n: int) -> None:
        async with semaphore:
            while True:
                try:
                    await stub.Register(pb.RegisterRequest(instance=_instance(n, interval)), timeout=60)
                except grpc.aio.AioRpcError as error:  # admission control: back off, retry
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    await asyncio.sleep(random.random())
                else:
                    return

    await asyncio.gather(*(one(n) for n in range(first, first + count)))


async def _grant(channel: grpc.aio.Channel, first: int, count: int, interval: float) -> None:
    grant: Any = etcd_wire.unary(channel, etcd_wire.LEASE_GRANT)
    semaphore = asyncio.Semaphore(REGISTER_CONCURRENCY)
    ttl = max(1, round(10 * interval))

    async def one(n: int) -> None:
        async with semaphore:
            LEASES[n] = etcd_wire.lease_id(await grant(etcd_wire.lease_grant_request(ttl), timeout=60))

    await asyncio.gather(*(one(n) for n in range(first, first + count)))


async def _requests(
    mode: str, n: int, interval: float, phase: float, sent: dict[int, float]
) -> AsyncIterator[Any]:
    """Bind (registry mode), then one beat (or echo payload) per interval from `phase` on."""
    # The first message opens the stream and is answered at once (bound, a keep-alive, an echo):
    # "ready" means every stream had that answer. It is not timed as a beat.
    if mode == "registry":
        yield hb.HeartbeatRequest(
            bind=hb.HeartbeatBind(service_name="bench", instance_id=f"bench-{n}", take_over=True)
        )
    elif mode == "etcd":
        yield etcd_wire.keep_alive_request(LEASES[n])
    else:
        yield ECHO_PAYLOAD
    await asyncio.sleep(phase)
    due, sequence = time.monotonic(), 0
    while True:
        sequence += 1
        sent[sequence] = time.perf_counter()
        if mode == "registry":
            beat = hb.Beat(sequence=sequence)
            beat.send_time.GetCurrentTime()
            yield hb.HeartbeatRequest(beat=beat)
        elif mode == "etcd":
            yield etcd_wire.keep_alive_request(LEASES[n])
        else:
            yield ECHO_PAYLOAD
        # Slots missed while a write waited are skipped, not made up in a burst (as the SDK does).
        due = max(due + interval, time.monotonic())
        await asyncio.sleep(due - time.monotonic())


async def _stream(channel: grpc.aio.Channel, mode: str, n: int, interval: float, stats: Stats) -> None:
    """One instance's stream for ever: beat at a random phase, time each ack, reconnect on failure."""
    phase = random.random() * interval
    while True:
        sent: dict[int, float] = {}
        requests = _requests(mode, n, interval, phase, sent)
        if mode == "registry":
            call: Any = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(requests)
        elif mode == "etcd":
            call = channel.stream_stream(
                etcd_wire.LEASE_KEEP_ALIVE,
                request_serializer=etcd_wire.identity,
                response_deserializer=etcd_wire.identity,
            )(requests)
        else:
            call = channel.stream_stream(STREAM, request_serializer=None, response_deserializer=None)(
                requests
            )
        echoed = -1  # the opening message's answer is number 0, not a timed beat
        try:
            async for response in call:
                if mode == "registry":
                    kind = response.WhichOneof("kind")
                    if kind == "bound":
                        stats.binds += 1
                        stats.reply(n)
                        continue
                    if kind != "ack":
                        continue
                    sequence = response.ack.sequence
                else:
                    echoed += 1
                    sequence = echoed
                    stats.reply(n)
                began = sent.pop(sequence, None)
                if stats.measuring and began is not None:
                    stats.latencies.append((time.perf_counter() - began) * 1000)
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(random.random())


async def run(address: str, mode: str, first: int, count: int, timing: tuple[float, float]) -> None:
    """`timing` is (beat interval, measured seconds)."""
    interval, seconds = timing
    stats = Stats(count)
    channels = [
        grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        for _ in range((count + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    opening = time.monotonic()
    if mode == "registry":
        await _register(channels[0], first, count, interval)
    elif mode == "etcd":
        await _grant(channels[0], first, count, interval)
    tasks = [
        asyncio.create_task(_stream(channels[i // STREAMS_PER_CHANNEL], mode, first + i, interval, stats))
        for i in range(count)
    ]
    await stats.all_replied.wait()
    print(f"ready {count} {time.monotonic() - opening:.3f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stats.measuring = True
    await asyncio.sleep(seconds)
    stats.measuring = False
    latencies = sorted(stats.latencies)

    def pick(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] if latencies else float("nan")
        )

    result = {"acks": len(latencies), "p50": pick(0.5), "p99": pick(0.99), "binds": stats.binds}
    print(json.dumps(result), flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    address, mode = sys.argv[1], sys.argv[2]
    first, count = int(sys.argv[3]), int(sys.argv[4])
    uvloop.run(run(address, mode, first, count, (float(sys.argv[5]), float(sys.argv[6]))))
