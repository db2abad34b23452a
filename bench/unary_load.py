"""Load generator (run as its own process): N concurrent callers for a fixed time.

    python bench/unary_load.py ADDRESS lookup|etcd|echo CONCURRENCY SECONDS [ECHO_BYTES] [SERVICES]

`etcd` reads one service's instances with a serializable KV.Range over its key prefix.

Prints one JSON line with the call count and latency percentiles in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

import grpc
import uvloop

from bench import etcd_wire
from bench.echo_server import UNARY
from generated.registry.v1 import registry_service_pb2 as pb

LOOKUP = f"/{pb.DESCRIPTOR.services_by_name['RegistryService'].full_name}/Lookup"


def prefix_range(service: int) -> tuple[bytes, bytes]:
    """The etcd key range holding one service's instances: `svc/<name>/` up to `svc/<name>0`."""
    prefix = f"svc/svc-{service:04d}/".encode()
    return prefix, prefix[:-1] + b"0"


async def run(address: str, mode: str, concurrency: int, seconds: float, size: int, services: int) -> None:
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        if mode == "echo":
            echo = channel.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
            payload = b"x" * size

            async def call() -> None:
                await echo(payload, timeout=10)
        elif mode == "etcd":
            read: Any = etcd_wire.unary(channel, etcd_wire.KV_RANGE)
            ranges = [etcd_wire.range_request(*prefix_range(i)) for i in range(services)]

            async def call() -> None:
                await read(random.choice(ranges), timeout=10)
        else:
            # Raw bytes both ways, like the echo and etcd callers: parsing each 1.7 KB answer here
            # made this caller the bottleneck, and a server that gets fewer calls per wake-up
            # spends more CPU on each, which the ratio would have blamed on the registry.
            lookup = channel.unary_unary(LOOKUP, request_serializer=None, response_deserializer=None)
            requests = [
                pb.LookupRequest(service_name=f"svc-{i:04d}").SerializeToString() for i in range(services)
            ]

            async def call() -> None:
                await lookup(random.choice(requests), timeout=10)

        for _ in range(50):  # warm up the channel and the server's code paths
            await call()
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await call()
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))]

    print(json.dumps({"count": len(latencies), "elapsed": elapsed, "p50": pick(0.5), "p99": pick(0.99)}))


if __name__ == "__main__":
    address, mode, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    services = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
    uvloop.run(run(address, mode, concurrency, seconds, size, services))
