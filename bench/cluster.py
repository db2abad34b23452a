"""Cluster mode against single-node mode, in one run (docs/benchmarks.md, "Cluster").

    .venv/bin/python -m bench.cluster [--streams 2000] [--seconds 10] [--registrations 300]
                                      [--events 2000] [--failover 1000]

1. CPU per heartbeat on a replica (etcd store) ÷ on a single node (SQLite), same load, same run:
   beats never touch the store, so the aim is <= 1.1x.
2. Register latency p50/p99, one call at a time, on etcd vs SQLite.
3. Propagation: Register on replica A until a watcher on replica B has the ADDED event.
4. Event throughput: concurrent Publish through etcd (each event is its own etcd write).
5. Failover: `--failover` instances beating through three replicas, SIGKILL of one, time until
   every instance is bound again and healthy, and how many were ever out of discovery.

etcd runs from tests/helpers/etcd.py (three members on loopback, data on tmpfs). Everything shares
this machine's two cores, so the figures are what one machine shows; docs/cluster.md computes the
ones that depend on more machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from bench.harness import free_port, percentile, print_table
from bench.heartbeats import measure, registry
from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from generated.registry.v1 import relay_service_pb2 as rpb
from generated.registry.v1 import relay_service_pb2_grpc as rpb_grpc
from tests.helpers.etcd import EtcdCluster, etcd_cluster

HEALTHY = ipb.HEALTH_STATUS_HEALTHY
OUT = {ipb.HEALTH_STATUS_CRITICAL, ipb.HEALTH_STATUS_DEAD}


def etcd_flags(etcd: EtcdCluster, prefix: str, replica: str) -> tuple[str, ...]:
    return (
        "--store", "etcd", "--etcd-endpoints", etcd.endpoints, "--etcd-prefix", prefix,
        "--replica-id", replica, "--etcd-lease-ttl", "3",
    )  # fmt: skip


@contextlib.contextmanager
def replicas(
    etcd: EtcdCluster, root: Path, prefix: str, count: int
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    with contextlib.ExitStack() as stack:
        started = []
        for n in range(count):
            folder = root / f"{prefix.strip('/')}-{n}"
            folder.mkdir()
            started.append(
                stack.enter_context(registry(folder / "registry.db", 0, *etcd_flags(etcd, prefix, f"r{n}")))
            )
        yield started


def instance(n: int) -> ipb.Instance:
    return ipb.Instance(
        service_name="bench",
        instance_id=f"reg-{n}",
        endpoints=[ipb.Endpoint(host="10.0.0.1", port=9000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)],
    )


async def register_latencies(address: str, count: int) -> list[float]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.RegistryServiceStub(channel)
        times = []
        for n in range(count):
            began = time.perf_counter()
            await stub.Register(pb.RegisterRequest(instance=instance(n)))
            times.append((time.perf_counter() - began) * 1000)
        return times


async def propagation(a: str, b: str, count: int) -> list[float]:
    async with grpc.aio.insecure_channel(a) as ca, grpc.aio.insecure_channel(b) as cb:
        writer, reader = pb_grpc.RegistryServiceStub(ca), pb_grpc.RegistryServiceStub(cb)
        watch = reader.Watch(pb.WatchRequest(service_names=["propagation"]))
        await watch.read()  # the snapshot
        times = []
        for n in range(count):
            request = pb.RegisterRequest(instance=instance(n))
            request.instance.service_name = "propagation"
            began = time.perf_counter()
            await writer.Register(request)
            while True:
                response = await watch.read()
                assert isinstance(response, pb.WatchResponse)
                if any(e.instance.instance_id == f"reg-{n}" for e in response.events):
                    break
            times.append((time.perf_counter() - began) * 1000)
        watch.cancel()
        return times


async def event_throughput(address: str, count: int, in_flight: int = 64) -> float:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = rpb_grpc.RelayServiceStub(channel)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                envelope = epb.Envelope(
                    type=epb.MESSAGE_TYPE_EVENT, name="bench.tick", payload=str(n).encode()
                )
                await stub.Publish(rpb.PublishRequest(envelope=envelope))

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return count / (time.perf_counter() - began)


def health_counts(address: str) -> tuple[int, int, int]:
    with grpc.insecure_channel(address) as channel:
        total = hb_grpc.HeartbeatServiceStub(channel).GetHealthSummary(
            hb.GetHealthSummaryRequest(), timeout=10
        )
        return total.total.healthy, total.total.critical + total.total.dead, total.open_streams


def failover(etcd: EtcdCluster, root: Path, size: int) -> dict[str, float]:
    """Streams spread over three replicas (the load generator reconnects a broken stream to the
    same address, so it gets the comma-separated list and spreads it round robin)."""
    from bench.heartbeats import generators  # noqa: PLC0415

    with replicas(etcd, root, "/failover", 3) as started:
        (proc_a, a), (_, b), (_, c) = started
        target = "ipv4:" + ",".join((a, b, c))
        with generators(target, "registry", size, 1.0, 3600):
            time.sleep(2)
            before = health_counts(b)[2] + health_counts(c)[2]
            proc_a.kill()
            began = time.monotonic()
            worst = 0
            while True:
                healthy_b, out_b, streams_b = health_counts(b)
                _, out_c, streams_c = health_counts(c)
                worst = max(worst, out_b, out_c)
                if streams_b + streams_c >= size and healthy_b >= size:
                    break
                if time.monotonic() - began > 120:
                    break
                time.sleep(0.1)
            return {
                "moved": size - before,
                "seconds": time.monotonic() - began,
                "out_of_discovery": worst,
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--failover", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    with etcd_cluster(3) as etcd:
        rows = []
        with registry(root / "single.db", free_port()) as (proc, address):
            single = measure(proc.pid, address, "registry", args.streams, 1.0, args.seconds)
            sqlite_register = asyncio.run(register_latencies(address, args.registrations))
        with replicas(etcd, root, "/bench", 2) as [(proc_a, a), (_, b)]:
            clustered = measure(proc_a.pid, a, "registry", args.streams, 1.0, args.seconds)
            etcd_register = asyncio.run(register_latencies(a, args.registrations))
            spread = asyncio.run(propagation(a, b, args.registrations))
            events = asyncio.run(event_throughput(a, args.events))
        rows.append(["CPU per beat, single node (µs)", f"{single['cpu_us']:.1f}", ""])
        rows.append(["CPU per beat, cluster replica (µs)", f"{clustered['cpu_us']:.1f}", ""])
        rows.append(
            ["ratio cluster / single", f"{clustered['cpu_us'] / single['cpu_us']:.2f}x", "aim <= 1.1x"]
        )
        rows.append(
            [
                "Register p50 / p99 ms, SQLite",
                f"{percentile(sqlite_register, 50):.2f} / {percentile(sqlite_register, 99):.2f}",
                "",
            ]
        )
        rows.append(
            [
                "Register p50 / p99 ms, etcd",
                f"{percentile(etcd_register, 50):.2f} / {percentile(etcd_register, 99):.2f}",
                "",
            ]
        )
        rows.append(
            [
                "propagation A -> watcher on B, p50 / p99 ms",
                f"{percentile(spread, 50):.2f} / {percentile(spread, 99):.2f}",
                "aim p99 < 100",
            ]
        )
        rows.append(["events/s through etcd (64 in flight)", f"{events:.0f}", ""])
        if args.failover:
            result = failover(etcd, root, args.failover)
            rows.append(
                [
                    f"failover of {args.failover} instances after SIGKILL",
                    f"{result['moved']:.0f} moved, all healthy in {result['seconds']:.2f} s",
                    f"{result['out_of_discovery']:.0f} ever critical/dead",
                ]
            )
        print_table("cluster vs single node", ["figure", "value", "note"], rows)


if __name__ == "__main__":
    main()
