"""Heartbeat streams at scale, beside a bare grpc.aio bidi echo under the same load, plus a
registry restart with thousands of clients reconnecting and SIGKILL detection times.

    .venv/bin/python -m bench.heartbeats [--sizes 1000 5000 10000] [--seconds 10] [--restart 5000]
    .venv/bin/python -m bench.heartbeats --capacity 50000 [--capacity-interval 10]

The capacity scenario opens N instances at once at one beat per 10 s on the echo floor, the
registry and etcd (LeaseKeepAlive, Debian's etcd-server) under the same generator, and reports the
time until every stream had its first answer, ack p50/p99 once open, server CPU per beat, RSS per
instance and, for the registry, how many instances were ever critical or dead during the run.

Every instance beats once per `--interval` (1 s) from the Go load generator (bench/loadgen, built
once into ~/.cache by bench/loadgen_build.py; `--opening` registrations in flight while it opens),
which costs less per stream opened and per beat than the bare Python floor server it drives (the
Python generator cost more than the server), so the server is what gets measured. Server
CPU is read from /proc for the server process only, so the ratio compares the registry's own cost
per beat with the floor's cost per echoed message. RSS per instance is the server's RSS growth
from empty to N streams (for the registry this includes the registration itself).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from bench.etcd_wire import etcd_server
from bench.harness import ROOT, child, cpu_seconds, free_port, percentile, print_table, rss_bytes
from bench.loadgen_build import loadgen
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc

ECHO_READY = r"echo serving address=(\S+)"
GENERATORS = 1
"""Load generator processes per run: one Go process holds 50,000 streams on a fraction of a core
(the registry's SIGKILL-detection run kills one generator, which holds one stream there)."""
OPENING = 512
"""Registrations (or lease grants, or echo stream opens) in flight while the generator opens: below
the 1,000 calls grpc-core lets wait for a Python server before it sheds new ones."""
PROGRESS = "10s"
"""How often the generator prints its counters to stderr (answered streams, reopened, refused)."""
WARM_UP = 3.0
_SERVING = re.compile(r"registry serving .*address=(\S+)")


@contextmanager
def registry(db: Path, port: int, *flags: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`registry serve` with its log in a file (a pipe nobody reads would block it)."""
    log = db.parent / f"registry-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "registry.cli.main", "serve", "--port", str(port), "--db-path", str(db),
             "--max-heartbeat-streams", "50000", "--max-heartbeat-streams-per-caller", "50000", *flags],
            stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "REGISTRY_AUTH_MODE": "off"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (match := _SERVING.search(log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"registry did not start:\n{log.read_text()}")
            time.sleep(0.02)
        yield proc, match.group(1)
    finally:
        proc.kill()
        proc.wait(10)


READY_SECONDS = float(os.environ.get("BENCH_READY_SECONDS", "120"))
"""How long every stream of a size may take to get its first reply; beyond that the server does
not hold that many streams at this rate on this machine, and the row says so."""


class NotHeldError(RuntimeError):
    """The server did not answer every stream in time."""


@contextmanager
def generators(
    address: str,
    mode: str,
    size: int,
    interval: float,
    seconds: float,
    first: int = 0,
    opened: list[float] | None = None,
) -> Iterator[list[subprocess.Popen[str]]]:
    """Load generator processes holding `size` streams between them, each past its `ready` line."""
    binary = str(loadgen())
    share = size // GENERATORS
    procs = [
        subprocess.Popen(
            [
                binary,
                "beat",
                f"-opening={OPENING}",
                f"-progress={PROGRESS}",
                address,
                mode,
                str(first + g * share),
                str(share if g < GENERATORS - 1 else size - g * share),
                str(interval),
                str(seconds),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for g in range(GENERATORS)
    ]
    try:
        deadline = time.monotonic() + READY_SECONDS
        for proc in procs:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise NotHeldError(f"{size} streams not all answered within {READY_SECONDS:g} s")
            line = proc.stdout.readline()
            if not line.startswith("ready"):
                raise RuntimeError(f"a load generator failed: {line!r}")
            if opened is not None:
                opened.append(float(line.split()[2]))  # seconds from its start to all answered
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


def measure(
    pid: int,
    address: str,
    mode: str,
    size: int,
    interval: float,
    seconds: float,
    while_running: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """`while_running` is called once the measurement is done, before the generators stop."""
    empty, server_cpu = rss_bytes(pid), cpu_seconds(pid)
    opened: list[float] = []
    with generators(address, mode, size, interval, seconds, opened=opened) as procs:
        open_cpu = cpu_seconds(pid) - server_cpu
        generator_cpu = sum(cpu_seconds(proc.pid) for proc in procs)
        time.sleep(WARM_UP)
        rss = rss_bytes(pid)
        cpu, began = cpu_seconds(pid), time.monotonic()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [json.loads(proc.stdout.readline()) for proc in procs if proc.stdout is not None]
        cpu, elapsed = cpu_seconds(pid) - cpu, time.monotonic() - began
        while_running()
    acks = sum(r["acks"] for r in results)
    rate = acks / seconds
    return {
        "beats_per_s": rate,
        "cpu_us": cpu / (rate * elapsed) * 1e6,
        "rss_kb": (rss - empty) / size / 1024,
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
        "open_s": max(opened),
        "failed": sum(r.get("failed", 0) for r in results),
        "retried": sum(r.get("retried", 0) for r in results),
        "open_cpu_us": open_cpu / size * 1e6,
        "generator_open_cpu_us": generator_cpu / size * 1e6,
    }


def restart(db: Path, size: int, interval: float) -> dict[str, float]:
    """SIGKILL a registry holding `size` streams, start it again on the same port and store, and
    time until every instance is healthy again; count evictions (critical/dead) meanwhile."""
    port = free_port()
    with registry(db, port) as (proc, address), generators(address, "registry", size, interval, 3600):
        proc.kill()
        proc.wait(10)
        with registry(db, port) as (_, again):
            started = time.monotonic()
            worst = 0
            with grpc.insecure_channel(again) as channel:
                stub = hb_grpc.HeartbeatServiceStub(channel)
                while True:
                    total = stub.GetHealthSummary(hb.GetHealthSummaryRequest(), timeout=10).total
                    worst = max(worst, total.critical + total.dead)
                    if total.healthy == size or time.monotonic() - started > 120:
                        break
                    time.sleep(0.2)
            return {"seconds": time.monotonic() - started, "healthy": total.healthy, "evicted": worst}


def _watch(address: str, events: queue.Queue[tuple[float, str]]) -> None:
    # The registry is killed at the end, which ends this watch with an error nobody needs to see.
    with grpc.insecure_channel(address) as channel, contextlib.suppress(grpc.RpcError):
        for response in pb_grpc.RegistryServiceStub(channel).Watch(pb.WatchRequest(service_names=["bench"])):
            for event in response.events:
                if event.instance.status == ipb.HEALTH_STATUS_CRITICAL:
                    events.put((time.monotonic(), event.instance.instance_id))


def detection(db: Path, runs: int) -> list[float]:
    """Milliseconds from SIGKILL of a beating client process to the CRITICAL watch event."""
    times: list[float] = []
    # Twenty kills in a row on a small fleet are a mass failure to self-preservation, which would
    # rightly hold them: switch it off to time detection itself.
    flags = ("--startup-grace-seconds", "0", "--self-preservation-threshold", "1")
    with registry(db, 0, *flags) as (_, address):
        events: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=_watch, args=(address, events), daemon=True).start()
        for run in range(runs):
            with generators(address, "registry", GENERATORS, 0.02, 3600, first=100_000 + 10 * run) as procs:
                time.sleep(0.2)
                killed = time.monotonic()
                procs[0].send_signal(signal.SIGKILL)
                victim = f"bench-{100_000 + 10 * run}"
                while True:
                    arrived, instance_id = events.get(timeout=10)
                    if instance_id == victim:
                        times.append((arrived - killed) * 1000)
                        break
    return times


class FailureWatch:
    """Counts registry instances that were ever critical or dead (and ever degraded), from a
    Watch held for the whole run."""

    def __init__(self, address: str) -> None:
        self.failed: set[str] = set()
        self.degraded: set[str] = set()
        self.counting = True
        threading.Thread(target=self._run, args=(address,), daemon=True).start()

    def stop(self) -> None:
        time.sleep(1)  # what the last second decided is still on its way
        self.counting = False

    def _run(self, address: str) -> None:
        with grpc.insecure_channel(address) as channel, contextlib.suppress(grpc.RpcError):
            watch = pb_grpc.RegistryServiceStub(channel).Watch(pb.WatchRequest(service_names=["bench"]))
            for response in watch:
                for event in response.events:
                    if not self.counting:  # the generators stop at the end: not a failure
                        return
                    status = event.instance.status
                    if status in (ipb.HEALTH_STATUS_CRITICAL, ipb.HEALTH_STATUS_DEAD):
                        self.failed.add(event.instance.instance_id)
                    elif status == ipb.HEALTH_STATUS_DEGRADED:
                        self.degraded.add(event.instance.instance_id)


def capacity(tmp: Path, size: int, interval: float, seconds: float) -> None:
    """The capacity scenario (see the module docstring): floor, registry and etcd in one run."""
    headers = ["server", "instances", "open all s", "beats/s", "ack p50 ms", "ack p99 ms",
               "CPU µs/beat", "RSS KB/inst", "CPU ratio", "ever crit/dead", "ever degraded"]  # fmt: skip
    rows: list[list[Any]] = []
    notes: list[str] = []
    floor: dict[str, float] | None = None

    def row(name: str, result: dict[str, float], failed: Any = "", degraded: Any = "") -> None:
        base = floor or result
        ratio = result["cpu_us"] / base["cpu_us"]
        rows.append([name, size, result["open_s"], result["beats_per_s"], result["p50"], result["p99"],
                     result["cpu_us"], result["rss_kb"], ratio, failed, degraded])  # fmt: skip
        print(rows[-1], flush=True)
        reopened, refused = result["failed"], result["retried"]
        notes.append(f"{name}: opening cost {result['open_cpu_us']:.0f} µs of server CPU per instance "
                     f"(the generator {result['generator_open_cpu_us']:.0f} µs); {reopened:.0f} streams "
                     f"ended in an error and were reopened, {refused:.0f} registrations or lease grants "
                     "refused and retried")  # fmt: skip

    try:
        with child(["-m", "bench.echo_server"], ECHO_READY) as echo:
            floor = measure(echo.pid, echo.address, "echo", size, interval, seconds)
        row("echo (floor)", floor)
    except NotHeldError as error:  # the others still run; their ratio column is then against themselves
        print(f"echo floor at {size}: {error}", flush=True)
    flags = ("--max-heartbeat-streams", str(2 * size), "--max-heartbeat-streams-per-caller", str(2 * size),
             "--max-instances", str(2 * size), "--startup-grace-seconds", "0")  # fmt: skip
    try:
        with registry(tmp / f"capacity-{size}.db", 0, *flags) as (proc, address):
            watch = FailureWatch(address)
            ours = measure(proc.pid, address, "registry", size, interval, seconds, watch.stop)
        row("registry", ours, len(watch.failed), len(watch.degraded))
    except NotHeldError as error:
        print(f"registry at {size}: {error}", flush=True)
    try:
        with etcd_server() as (pid, address):
            theirs = measure(pid, address, "etcd", size, interval, seconds)
        row("etcd LeaseKeepAlive", theirs, "n/a", "n/a")
    except NotHeldError as error:
        print(f"etcd at {size}: {error}", flush=True)
    if rows:
        print_table(f"Capacity: {size} instances, one beat per {interval:g} s each", headers, rows)
    print("\nopening, and what the load generator saw over the whole run:")
    for note in notes:
        print(f"- {note}")


def _row(name: str, size: int, result: dict[str, float], floor: dict[str, float]) -> list[Any]:
    return [
        name,
        size,
        result["beats_per_s"],
        result["cpu_us"],
        result["rss_kb"],
        result["p50"],
        result["p99"],
        result["cpu_us"] / floor["cpu_us"],
    ]


def main(argv: Sequence[str] | None = None) -> None:
    global OPENING  # noqa: PLW0603 - one setting for every generator of the run
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--restart", type=int, default=5000, help="clients in the restart run; 0 skips it")
    parser.add_argument("--detections", type=int, default=20)
    parser.add_argument(
        "--capacity", type=int, default=0, help="instances of the capacity scenario (only it runs)"
    )
    parser.add_argument("--capacity-interval", type=float, default=10.0)
    parser.add_argument("--opening", type=int, default=OPENING, help="registrations in flight while opening")
    args = parser.parse_args(argv)
    OPENING = args.opening
    if args.capacity:
        with tempfile.TemporaryDirectory() as tmp:
            capacity(Path(tmp), args.capacity, args.capacity_interval, args.seconds)
        return
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            try:
                with child(["-m", "bench.echo_server"], ECHO_READY) as echo:
                    floor = measure(echo.pid, echo.address, "echo", size, args.interval, args.seconds)
            except NotHeldError as error:
                print(f"echo floor at {size}: {error}; larger sizes skipped", flush=True)
                break
            rows.append(_row("echo (floor)", size, floor, floor))
            print(rows[-1], flush=True)
            try:
                with registry(Path(tmp) / f"sizes-{size}.db", 0) as (proc, address):
                    ours = measure(proc.pid, address, "registry", size, args.interval, args.seconds)
            except NotHeldError as error:
                print(f"registry at {size}: {error}; larger sizes skipped", flush=True)
                break
            rows.append(_row("registry", size, ours, floor))
            print(rows[-1], flush=True)
        if rows:
            print_table(
                f"Heartbeat streams, one beat per {args.interval:g} s each",
                [
                    "server",
                    "streams",
                    "beats/s",
                    "CPU µs/beat",
                    "RSS KB/stream",
                    "ack p50 ms",
                    "ack p99 ms",
                    "CPU ratio",
                ],
                rows,
            )
            kept = [r[1] for r in rows if r[0] == "registry" and r[6] < 50]
            print(f"\nlargest N measured with ack p99 < 50 ms: {max(kept) if kept else 'none'}")
        if args.restart:
            result = restart(Path(tmp) / "restart.db", args.restart, args.interval)
            print(
                f"\nrestart: {args.restart} clients, {result['healthy']} healthy again "
                f"{result['seconds']:.1f} s after the registry was serving again; "
                f"evicted (critical or dead) meanwhile: {result['evicted']}"
            )
        times = detection(Path(tmp) / "detection.db", args.detections)
        print(
            f"\nSIGKILL -> CRITICAL watch event over {len(times)} kills: "
            f"median {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms"
        )


if __name__ == "__main__":
    main()
