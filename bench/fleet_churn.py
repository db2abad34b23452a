"""A fleet that keeps changing (run as its own process): COUNT instances, RATE status changes/s.

    python -m bench.fleet_churn ADDRESS COUNT RATE

Registers COUNT instances over 50 services (`svc-00` .. `svc-49`, ids `i-N`) with a long heartbeat
policy, so they stay UNKNOWN and quiet. Then, RATE times a second, it toggles one of the first
`CHURNERS` instances: it binds a Heartbeat stream and beats once (the instance turns HEALTHY), or
cancels that stream (the registry turns it CRITICAL after its stream-break debounce). Every toggle
is one real status change in the registry, driven through the real API. The token in
REGISTRY_TOKEN (if any) goes with every call. Prints `ready COUNT` once every instance is
registered, then churns until killed.

The console's bench (bench/console.py) and its browser test at 5,000 instances use it.
"""

from __future__ import annotations

import asyncio
import os
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

SERVICES = 50
CHURNERS = 200


def service_of(n: int) -> str:
    return f"svc-{n % SERVICES:02d}"


def _instance(n: int) -> ipb.Instance:
    return ipb.Instance(
        service_name=service_of(n),
        instance_id=f"i-{n}",
        endpoints=[ipb.Endpoint(host="10.0.0.1", port=1 + n % 60000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)],
        version="1.0.0",
        zone=f"zone-{n % 3}",
        heartbeat_policy=ipb.HeartbeatPolicy(
            interval=duration_pb2.Duration(seconds=3600), timeout=duration_pb2.Duration(seconds=86400)
        ),
    )


async def _register(channel: grpc.aio.Channel, count: int, metadata: tuple[tuple[str, str], ...]) -> None:
    stub = pb_grpc.RegistryServiceStub(channel)
    semaphore = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        async with semaphore:
            await stub.Register(pb.RegisterRequest(instance=_instance(n)), metadata=metadata, timeout=60)

    await asyncio.gather(*(one(n) for n in range(count)))


async def _beats(n: int, stop: asyncio.Event) -> AsyncIterator[hb.HeartbeatRequest]:
    yield hb.HeartbeatRequest(
        bind=hb.HeartbeatBind(service_name=service_of(n), instance_id=f"i-{n}", take_over=True)
    )
    beat = hb.Beat(sequence=1)
    beat.send_time.GetCurrentTime()
    yield hb.HeartbeatRequest(beat=beat)
    await stop.wait()


async def _hold(call: grpc.aio.StreamStreamCall[hb.HeartbeatRequest, hb.HeartbeatResponse]) -> None:
    try:
        async for _ in call:
            pass
    except (grpc.aio.AioRpcError, asyncio.CancelledError):
        pass


async def churn(address: str, count: int, rate: float) -> None:
    token = os.environ.get("REGISTRY_TOKEN", "")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with grpc.aio.insecure_channel(address) as channel:
        await _register(channel, count, metadata)
        print("ready", count, flush=True)
        stub = hb_grpc.HeartbeatServiceStub(channel)
        open_calls: dict[int, tuple[asyncio.Event, asyncio.Task[None], object]] = {}
        due = time.monotonic()
        toggles = 0
        while True:
            n = toggles % min(CHURNERS, count)
            toggles += 1
            held = open_calls.pop(n, None)
            if held is None:
                stop = asyncio.Event()
                call = stub.Heartbeat(_beats(n, stop), metadata=metadata)
                open_calls[n] = (stop, asyncio.create_task(_hold(call)), call)
            else:
                held[0].set()
                held[2].cancel()  # type: ignore[attr-defined]
            due += 1 / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__":
    asyncio.run(churn(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
