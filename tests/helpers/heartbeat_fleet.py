"""A fleet of healthy instances in one process, for the overload test.

    python -m tests.helpers.heartbeat_fleet ADDRESS COUNT INTERVAL_MS TIMEOUT_MS LATE_FILE

Registers COUNT instances of service `fleet`, binds one Heartbeat stream each and beats every
stream on time (each beat scheduled from the stream's start, carrying its send time, like the
SDK). Prints `ready` once every stream has had a beat acknowledged, then beats until killed. It
never stops beating, so any instance the registry marks failed is the registry's own mistake,
unless this process itself could not send on time (it is a process on a busy machine too): a
beat written more than a quarter interval after its slot appends the instance id to LATE_FILE.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc

SERVICE = "fleet"


def _duration(milliseconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=milliseconds // 1000, nanos=(milliseconds % 1000) * 1_000_000)


LATE: list[str] = []
"""LATE_FILE's path."""


def _late(instance_id: str) -> None:
    with Path(LATE[0]).open("a") as file:  # rare, and one line
        file.write(instance_id + "\n")


async def _beats(
    instance_id: str, interval: float, bound: asyncio.Event
) -> AsyncIterator[hb.HeartbeatRequest]:
    yield hb.HeartbeatRequest(
        bind=hb.HeartbeatBind(service_name=SERVICE, instance_id=instance_id, take_over=True)
    )
    await bound.wait()  # like the SDK: beats start once the registry confirmed the bind
    start = time.monotonic()
    sequence = 0
    while True:
        sequence += 1
        if time.monotonic() - (start + (sequence - 1) * interval) > interval / 4:
            _late(instance_id)
        sent = timestamp_pb2.Timestamp()
        sent.FromNanoseconds(time.time_ns())
        yield hb.HeartbeatRequest(beat=hb.Beat(sequence=sequence, send_time=sent))
        await asyncio.sleep(max(0.0, start + sequence * interval - time.monotonic()))


async def _instance(
    channel: grpc.aio.Channel, n: int, interval_ms: int, timeout_ms: int, ready: list[int]
) -> None:
    instance_id = f"fleet-{n}"
    instance = ipb.Instance(
        service_name=SERVICE,
        instance_id=instance_id,
        endpoints=[ipb.Endpoint(host="127.0.0.1", port=9000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)],
        heartbeat_policy=ipb.HeartbeatPolicy(
            interval=_duration(interval_ms), timeout=_duration(timeout_ms), max_failures=3
        ),
    )
    await pb_grpc.RegistryServiceStub(channel).Register(pb.RegisterRequest(instance=instance))
    bound = asyncio.Event()
    call = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(_beats(instance_id, interval_ms / 1000, bound))
    counted = False
    async for response in call:
        if response.WhichOneof("kind") == "bound":
            bound.set()
        if not counted and response.WhichOneof("kind") == "ack":
            counted = True
            ready.append(n)
            if len(ready) == ready[0]:
                print("ready", flush=True)


async def main(address: str, count: int, interval_ms: int, timeout_ms: int) -> None:
    ready = [count + 1]  # the target, then one entry per instance with an acked beat
    channels = [grpc.aio.insecure_channel(address) for _ in range(4)]
    await asyncio.gather(
        *(_instance(channels[n % 4], n, interval_ms, timeout_ms, ready) for n in range(count))
    )


if __name__ == "__main__":
    address, count, interval_ms, timeout_ms, late_file = sys.argv[1:6]
    LATE.append(late_file)
    asyncio.run(main(address, int(count), int(interval_ms), int(timeout_ms)))
