"""Registration throughput: concurrent callers registering distinct instances, against the
registry (SQLite on a real disk, durable: every Register is answered after its transaction is
synced), beside a bare grpc.aio unary echo of the same request bytes (the floor) and etcd's Put of
the same bytes (Debian's etcd-server, one member, data on tmpfs), all in one run.

    .venv/bin/python -m bench.registrations [--concurrency 64 256 1024] [--seconds 5]

The callers are the Go load generator (`loadgen register`, bench/loadgen), so the server is what
is measured: each caller registers `bench-N` (a new N every call) and waits for the answer before
its next call; refusals by admission control (`UNAVAILABLE` `REGISTRY_BUSY`) are retried with
back-off and counted as `busy`, and a call's latency spans its retries. Server CPU per call is
read from /proc for the server process only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bench.etcd_wire import etcd_server
from bench.harness import ROOT, child, cpu_seconds, print_table
from bench.heartbeats import ECHO_READY, registry
from bench.loadgen_build import loadgen

FIRST_STRIDE = 10_000_000
"""Instance numbers of one measurement start here times its index, so none is registered twice."""


def filesystem(path: Path) -> str:
    """The type of the filesystem holding `path` (from /proc/mounts), so the table says whether
    the registry's syncs went to a disk."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if str(path.resolve()).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def measure(
    pid: int, address: str, target: str, concurrency: int, seconds: float, first: int
) -> dict[str, Any]:
    """One `loadgen register` run; the server's CPU is read around the timed part only."""
    args = [str(loadgen()), "register", address, target, str(concurrency), str(seconds), str(first)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        if not ready.startswith("ready"):
            raise RuntimeError(f"the load generator failed: {ready!r}")
        cpu = cpu_seconds(pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result: dict[str, Any] = json.loads(proc.stdout.readline())
        result["cpu_us"] = (cpu_seconds(pid) - cpu) / max(1, result["count"]) * 1e6
        return result
    finally:
        proc.kill()
        proc.wait(10)


@contextmanager
def echo() -> Iterator[tuple[int, str]]:
    with child(["-m", "bench.echo_server"], ECHO_READY) as server:
        yield server.pid, server.address


@contextmanager
def durable_registry(db: Path) -> Iterator[tuple[int, str]]:
    with registry(db, 0, "--max-instances", str(10_000_000)) as (proc, address):
        yield proc.pid, address


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    loadgen()  # built before anything is timed
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-registrations-") as tmp:
        db = Path(tmp) / "registry.db"
        disk = filesystem(db.parent)
        servers: list[tuple[str, str, Callable[[], AbstractContextManager[tuple[int, str]]]]] = [
            ("echo (floor)", "echo", echo),
            ("registry Register", "registry", lambda: durable_registry(db)),
            ("etcd Put", "etcd", etcd_server),
        ]
        for name, target, start in servers:
            with start() as (pid, address):
                for i, concurrency in enumerate(args.concurrency):
                    result = measure(pid, address, target, concurrency, args.seconds, (i + 1) * FIRST_STRIDE)
                    results[name, concurrency] = result
                    print(name, concurrency, result, flush=True)
    rows: list[list[Any]] = []
    for concurrency in args.concurrency:
        floor = results["echo (floor)", concurrency]
        for name, _, _ in servers:
            r = results[name, concurrency]
            rows.append([name, concurrency, r["count"] / r["elapsed"], r["p50"], r["p99"], r["cpu_us"],
                         r["cpu_us"] / floor["cpu_us"], r["busy"]])  # fmt: skip
    print_table(
        f"Registrations, {args.seconds:g} s per row "
        f"(registry: SQLite on {disk}, synchronous=FULL; etcd: data on tmpfs)",
        ["target", "concurrency", "calls/s", "p50 ms", "p99 ms", "server CPU µs/call", "CPU ratio", "busy"],
        rows,
    )


if __name__ == "__main__":
    main()
