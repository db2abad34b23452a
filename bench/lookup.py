"""Lookup throughput and latency against a registry holding 10,000 instances over 1,000 services,
beside a bare grpc.aio unary echo measured in the same run.

    .venv/bin/python -m bench.lookup [--seconds 4] [--rounds 3] [--services 1000] [--per-service 10]

etcd (Debian's etcd-server) holds the same instances, each serialized as the registry's Instance
message under `svc/<service>/<instance>`, and answers a serializable Range over one service's
prefix: what an etcd-based registry's lookup costs at the least.

Server CPU per request is read from /proc for the server process only, so the ratio compares the
registry's own cost with the floor regardless of how fast the load generator is. The three servers
run side by side and take turns, `--rounds` times per concurrency, and each row is the median
round: on a shared machine the load moves between measurements, and interleaving makes it move
the floor as much as the targets compared with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import grpc
from google.protobuf import duration_pb2

from bench import etcd_wire
from bench.harness import ROOT, child, cpu_seconds, print_table
from bench.unary_load import prefix_range
from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc

REGISTER_CONCURRENCY = 512
"""Registers in flight while populating: concurrent registrations commit together."""
REGISTRY_READY = r"registry serving .*address=(\S+)"
ECHO_READY = r"echo serving address=(\S+)"


async def populate_etcd(address: str, registry_address: str, services: int) -> None:
    """Put every instance the registry holds into etcd, serialized as the registry sends it."""
    async with (
        grpc.aio.insecure_channel(registry_address) as source,
        grpc.aio.insecure_channel(address) as channel,
    ):
        stub = registry_service_pb2_grpc.RegistryServiceStub(source)
        put: Any = etcd_wire.unary(channel, etcd_wire.KV_PUT)
        semaphore = asyncio.Semaphore(64)

        async def copy(s: int) -> None:
            async with semaphore:
                found = await stub.Lookup(registry_service_pb2.LookupRequest(service_name=f"svc-{s:04d}"))
                for instance in found.instances:
                    key = prefix_range(s)[0] + instance.instance_id.encode()
                    await put(etcd_wire.put_request(key, instance.SerializeToString()), timeout=30)

        await asyncio.gather(*(copy(s) for s in range(services)))


def bench_instance(service_name: str, instance_id: str, s: int, i: int) -> instance_pb2.Instance:
    """Instance `i` (0-255) of service number `s`, as every registration bench registers them."""
    return instance_pb2.Instance(
        service_name=service_name,
        instance_id=instance_id,
        endpoints=[
            instance_pb2.Endpoint(
                host=f"10.{s // 256 % 256}.{s % 256}.{i}",
                port=8000 + i,
                protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC,
            )
        ],
        version=f"1.{i % 3}.0",
        tags=["blue" if i % 2 else "green"],
        zone=f"zone-{i % 3}",
        metadata={"team": "bench"},
    )


NEVER_EXPIRES = instance_pb2.HeartbeatPolicy(
    interval=duration_pb2.Duration(seconds=3600), timeout=duration_pb2.Duration(seconds=86400)
)


async def populate(address: str, services: int, per_service: int) -> int:
    """Register services x per_service instances; return the size of one Lookup response."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        semaphore = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def register(s: int, i: int) -> None:
            instance = bench_instance(f"svc-{s:04d}", f"i-{i}", s, i)
            # No beats in this bench: a policy that never expires during it, so no instance
            # changes status (and the catalog's revision) in the middle of a measurement.
            instance.heartbeat_policy.CopyFrom(NEVER_EXPIRES)
            async with semaphore:
                await stub.Register(registry_service_pb2.RegisterRequest(instance=instance), timeout=30)

        await asyncio.gather(*(register(s, i) for s in range(services) for i in range(per_service)))
        sample = await stub.Lookup(registry_service_pb2.LookupRequest(service_name="svc-0000"))
        return sample.ByteSize()


def load(
    address: str, mode: str, concurrency: int, seconds: float, size: int, services: int
) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.unary_load",
            address,
            mode,
            str(concurrency),
            str(seconds),
            str(size),
            str(services),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class Row(NamedTuple):
    """One line of the lookup table."""

    concurrency: int
    rps: float
    p50: float
    p99: float
    cpu_us: float


def measure(
    pid: int, address: str, mode: str, concurrency: int, seconds: float, size: int, services: int
) -> Row:
    before = cpu_seconds(pid)
    result = load(address, mode, concurrency, seconds, size, services)
    cpu = cpu_seconds(pid) - before
    # the warm-up calls count towards CPU too; include them in the divisor
    calls = result["count"] + 50
    return Row(
        concurrency, result["count"] / result["elapsed"], result["p50"], result["p99"], cpu / calls * 1e6
    )


def median_row(rows: list[Row]) -> Row:
    """The round with the median server CPU per call (its other figures come with it)."""
    return sorted(rows, key=lambda row: row.cpu_us)[len(rows) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--per-service", type=int, default=10)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 16, 64])
    args = parser.parse_args()
    rows: list[list[object]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        child(["-m", "bench.echo_server"], ECHO_READY) as echo,
        etcd_wire.etcd_server() as (etcd_pid, etcd_address),
    ):
        serve = ["-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(Path(tmp) / "bench.db")]
        with child(serve, REGISTRY_READY, env={"REGISTRY_AUTH_MODE": "off"}) as registry:
            began = time.monotonic()
            size = asyncio.run(populate(registry.address, args.services, args.per_service))
            took = time.monotonic() - began
            count = args.services * args.per_service
            print(
                f"registered {count} instances in {took:.1f} s ({count / took:.0f}/s durable, "
                f"{REGISTER_CONCURRENCY} in flight); Lookup response {size} bytes"
            )
            asyncio.run(populate_etcd(etcd_address, registry.address, args.services))
            targets = [
                ("echo (floor)", echo.pid, echo.address, "echo"),
                ("Lookup", registry.pid, registry.address, "lookup"),
                ("etcd Range", etcd_pid, etcd_address, "etcd"),
            ]
            # The three take turns, round after round, so a change in the machine's load between
            # measurements moves them all; each row is the median round.
            for c in args.concurrency:
                rounds: dict[str, list[Row]] = {name: [] for name, *_ in targets}
                for _ in range(args.rounds):
                    for name, pid, address, mode in targets:
                        rounds[name].append(measure(pid, address, mode, c, args.seconds, size, args.services))
                floor = median_row(rounds["echo (floor)"]).cpu_us
                for name, *_ in targets:
                    row = median_row(rounds[name])
                    rows.append([name, *row, row.cpu_us / floor])
    print_table(
        f"Lookup vs bare grpc.aio echo "
        f"({args.services * args.per_service} instances, {args.services} services; "
        f"median of {args.rounds} interleaved rounds of {args.seconds:g} s)",
        ["target", "concurrency", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "CPU ratio"],
        rows,
    )


if __name__ == "__main__":
    main()
