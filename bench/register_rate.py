"""Registration throughput: durable Registers per second and server CPU per Register, beside a
bare grpc.aio unary echo of the same request bytes measured in the same run.

    .venv/bin/python -m bench.register_rate [--seconds 5] [--in-flight 256 1024] [--per-client 256]

Each Register is a new instance (shaped like bench/lookup.py's population), so every one is a
durable write: a group commit with SQLite `synchronous=FULL`. The `re-register` rows send
registrations the registry already holds unchanged (the idempotent path: answered from memory,
nothing written). Load comes from separate processes (`--per-client` calls in flight each), so
the server's CPU, read from /proc for the server process only, is its own; the rate is what the
server sustained while they ran.

`python -m bench.register_rate load ADDRESS MODE IN_FLIGHT SECONDS TAG` is one load process
(MODE: register, reregister or echo); it prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import uvloop

from bench.echo_server import UNARY
from bench.harness import ROOT, child, cpu_seconds, main_thread_cpu_seconds, print_table
from bench.lookup import bench_instance
from generated.registry.v1 import registry_service_pb2, registry_service_pb2_grpc

REGISTRY_READY = r"registry serving .*address=(\S+)"
ECHO_READY = r"echo serving address=(\S+)"
REREGISTER_POOL = 2000
"""Distinct instances each re-register load process cycles through (registered once first)."""
PER_CONNECTION = 256
"""Calls in flight per HTTP/2 connection (grpc cancels calls beyond about a thousand on one)."""


def request(tag: str, n: int) -> registry_service_pb2.RegisterRequest:
    """Registration `n` of a load process, shaped like bench/lookup.py's population."""
    s, i = divmod(n, 10)
    return registry_service_pb2.RegisterRequest(
        instance=bench_instance(f"svc-{tag}-{s % 1000:04d}", f"i-{n}", s, i)
    )


async def load(address: str, mode: str, in_flight: int, seconds: float, tag: str) -> None:
    """`in_flight` callers for `seconds`, over one connection per `PER_CONNECTION` of them;
    prints {"count", "elapsed", "busy"}."""
    # A local subchannel pool each: otherwise grpc shares one connection between equal channels.
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options) for _ in range(-(-in_flight // PER_CONNECTION))]
    stubs = [registry_service_pb2_grpc.RegistryServiceStub(channel) for channel in channels]
    echoes = [
        channel.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
        for channel in channels
    ]
    payload = request(tag, 0).SerializeToString()
    pool = [request(tag, n) for n in range(REREGISTER_POOL)] if mode == "reregister" else []
    for start in range(0, len(pool), PER_CONNECTION):
        await asyncio.gather(
            *(stubs[0].Register(r, timeout=60) for r in pool[start : start + PER_CONNECTION])
        )
    counter = 0
    busy = 0

    async def call(n: int) -> None:
        nonlocal counter, busy
        counter += 1
        try:
            if mode == "echo":
                await echoes[n % len(echoes)](payload, timeout=60)
            elif mode == "reregister":
                await stubs[n % len(stubs)].Register(pool[counter % len(pool)], timeout=60)
            else:
                await stubs[n % len(stubs)].Register(request(tag, counter), timeout=60)
        except grpc.aio.AioRpcError as error:
            # UNAVAILABLE: admission control refused it (REGISTRY_BUSY). CANCELLED: grpc.aio
            # cancels the odd call with about a thousand in flight, the echo floor's too.
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise
            busy += 1

    stop_at = time.perf_counter() + seconds
    done = 0

    async def worker(n: int) -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await call(n)
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(in_flight)))
    elapsed = time.perf_counter() - began
    for channel in channels:
        await channel.close(None)
    print(json.dumps({"count": done - busy, "elapsed": elapsed, "busy": busy}))


class Row(NamedTuple):
    target: str
    in_flight: int
    per_second: float
    cpu_us: float
    loop_us: float
    """CPU of the server's main thread (the event loop) per call: what caps one process."""
    busy: int


def measure(pid: int, address: str, mode: str, in_flight: int, seconds: float, per_client: int) -> Row:
    """Run load processes of `per_client` calls in flight each, `in_flight` in all, at once."""
    clients = max(1, -(-in_flight // per_client))
    before, loop_before = cpu_seconds(pid), main_thread_cpu_seconds(pid)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.register_rate",
                "load",
                address,
                mode,
                str(max(1, in_flight // clients)),
                str(seconds),
                f"{os.getpid()}{mode[0]}{in_flight}c{n}",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(clients)
    ]
    results: list[dict[str, Any]] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"load process failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    cpu, loop = cpu_seconds(pid) - before, main_thread_cpu_seconds(pid) - loop_before
    count = sum(r["count"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    # The server's CPU covers the whole window (re-register's warm-up registrations too); count
    # what it answered in that window.
    answered = count + (REREGISTER_POOL * clients if mode == "reregister" else 0)
    return Row(
        mode,
        in_flight,
        count / elapsed,
        cpu / answered * 1e6,
        loop / answered * 1e6,
        sum(r["busy"] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--in-flight", type=int, nargs="*", default=[256, 1024])
    parser.add_argument(
        "--per-client",
        type=int,
        default=256,
        help="calls in flight per load process (grpc.aio cancels calls past about 1,000)",
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        serve = ["-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(Path(tmp) / "bench.db")]
        env = {"REGISTRY_AUTH_MODE": "off", "REGISTRY_MAX_INSTANCES": "1000000"}
        with child(serve, REGISTRY_READY, env=env) as registry:
            for in_flight in args.in_flight:
                rows.append(
                    measure(
                        registry.pid, registry.address, "register", in_flight, args.seconds, args.per_client
                    )
                )
                rows.append(
                    measure(
                        registry.pid, registry.address, "reregister", in_flight, args.seconds, args.per_client
                    )
                )
        with child(["-m", "bench.echo_server"], ECHO_READY) as echo:
            floor = {
                n: measure(echo.pid, echo.address, "echo", n, args.seconds, args.per_client)
                for n in args.in_flight
            }
    table: list[list[object]] = []
    for in_flight in args.in_flight:
        base = floor[in_flight]
        for row in [base, *(row for row in rows if row.in_flight == in_flight)]:
            name = "echo (floor)" if row is base else row.target
            cpu_ratio, loop_ratio = row.cpu_us / base.cpu_us, row.loop_us / base.loop_us
            table.append(
                [name, in_flight, row.per_second, row.cpu_us, row.loop_us, cpu_ratio, loop_ratio, row.busy]
            )
    print_table(
        f"Register vs bare grpc.aio echo of the same request ({args.per_client} in flight per load process, "
        f"load average {os.getloadavg()[0]:.1f})",
        [
            "target",
            "in flight",
            "calls/s",
            "server CPU µs/call",
            "event loop µs/call",
            "CPU ratio",
            "loop ratio",
            "refused",
        ],
        table,
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        _, _, address, mode, in_flight, seconds, tag = sys.argv
        uvloop.run(load(address, mode, int(in_flight), float(seconds), tag))
    else:
        main()
