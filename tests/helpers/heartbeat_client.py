"""A real instance process for liveness tests: registers, binds a Heartbeat stream, beats forever.

    python -m tests.helpers.heartbeat_client ADDRESS INSTANCE_ID INTERVAL_MS TIMEOUT_MS

Prints `ready` once its first beat is acknowledged, then beats at a fixed rate (each send is
scheduled from the start, so a slow iteration does not drift the rate) until it is killed. Tests
SIGKILL it (the registry must notice the stream's end) or SIGSTOP it (a silent loss: the socket
stays open, beats stop).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import grpc
from google.protobuf import duration_pb2

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc

SERVICE = "orders"


def _duration(milliseconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=milliseconds // 1000, nanos=(milliseconds % 1000) * 1_000_000)


async def _beats(instance_id: str, interval: float) -> AsyncIterator[hb.HeartbeatRequest]:
    yield hb.HeartbeatRequest(
        bind=hb.HeartbeatBind(service_name=SERVICE, instance_id=instance_id, take_over=True)
    )
    start = time.monotonic()
    sequence = 0
    while True:
        sequence += 1
        yield hb.HeartbeatRequest(beat=hb.Beat(sequence=sequence))
        await asyncio.sleep(max(0.0, start + sequence * interval - time.monotonic()))


async def main(address: str, instance_id: str, interval_ms: int, timeout_ms: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        instance = ipb.Instance(
            service_name=SERVICE,
            instance_id=instance_id,
            endpoints=[ipb.Endpoint(host="127.0.0.1", port=9000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)],
            heartbeat_policy=ipb.HeartbeatPolicy(
                interval=_duration(interval_ms), timeout=_duration(timeout_ms), max_failures=3
            ),
        )
        await pb_grpc.RegistryServiceStub(channel).Register(pb.RegisterRequest(instance=instance))
        call = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(_beats(instance_id, interval_ms / 1000))
        announced = False
        async for response in call:
            if not announced and response.WhichOneof("kind") == "ack":
                print("ready", flush=True)
                announced = True


if __name__ == "__main__":
    address, instance_id, interval_ms, timeout_ms = sys.argv[1:5]
    asyncio.run(main(address, instance_id, int(interval_ms), int(timeout_ms)))
