"""The console's push channel: registry CPU per connected console page, at 5,000 instances and
100 status changes per second.

    python -m bench.console [--instances 5000] [--rate 100] [--seconds 10]

A registry process (console on, auth off, loopback) and a churn process (bench/fleet_churn.py:
real registrations, real Heartbeat streams bound and cancelled) run apart from this driver, which
plays the console pages: 0, 1, 4 and 16 clients of `/api/fleet`, each reading the snapshot and
then every change, as the page does. For each count it reads the registry's CPU time over the same
interval. The floor is 0 pages in the same run (the churn itself); the cost of a page is the CPU
above the floor divided by the pages. Also measured: how long one page waits for the 5,000-instance
snapshot, and the changes per second each page received (they must equal the churn rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.harness import child, cpu_seconds, free_port, print_table

PAGES = (0, 1, 4, 16)


class Page:
    """One console page's fleet feed: counts changes after the snapshot."""

    def __init__(self) -> None:
        self.snapshot = asyncio.Event()
        self.snapshot_seconds = 0.0
        self.changes = 0

    async def run(self, session: aiohttp.ClientSession, url: str) -> None:
        started = time.perf_counter()
        buffer = b""
        async with session.get(url + "api/fleet") as response:
            async for chunk in response.content.iter_any():  # a snapshot is one long line
                buffer += chunk
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    event, _, data = frame.partition(b"\ndata: ")
                    if event == b"event: snapshot":
                        json.loads(data)
                        self.snapshot_seconds = time.perf_counter() - started
                        self.snapshot.set()
                    elif event == b"event: changes":
                        self.changes += len(json.loads(data)["changes"])


async def measure(url: str, pid: int, pages: int, seconds: float) -> tuple[float, float, float]:
    """(registry CPU %, changes/s per page, mean snapshot seconds) with `pages` open."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        opened = [Page() for _ in range(pages)]
        tasks = [asyncio.create_task(p.run(session, url)) for p in opened]
        async with asyncio.timeout(120):
            await asyncio.gather(*(p.snapshot.wait() for p in opened))
        await asyncio.sleep(1.0)  # past the snapshot burst
        before_changes = [p.changes for p in opened]
        cpu, wall = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = cpu_seconds(pid) - cpu, time.monotonic() - wall
        rates = [(p.changes - b) / wall for p, b in zip(opened, before_changes, strict=True)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    rate = sum(rates) / len(rates) if rates else 0.0
    snapshot = sum(p.snapshot_seconds for p in opened) / len(opened) if opened else 0.0
    return 100 * cpu / wall, rate, snapshot


async def main(instances: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        console_port = free_port()
        registry_args = [
            "-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(Path(tmp) / "registry.db"),
            "--auth-mode", "off", "--console-address", f"127.0.0.1:{console_port}",
            "--startup-grace-seconds", "0", "--self-preservation-threshold", "1",
        ]  # fmt: skip
        with child(
            registry_args, r"registry serving .*address=(\S+)", {"REGISTRY_LOG_LEVEL": "INFO"}
        ) as registry:
            url = f"http://127.0.0.1:{console_port}/"
            churn_args = ["-m", "bench.fleet_churn", registry.address, str(instances), str(rate)]
            with child(churn_args, r"(ready) \d+"):
                await asyncio.sleep(3.0)  # the churn reaches its rate
                rows: list[list[object]] = []
                floor = 0.0
                for pages in PAGES:
                    cpu, received, snapshot = await measure(url, registry.pid, pages, seconds)
                    if pages == 0:
                        floor = cpu
                    per_page = (cpu - floor) / pages if pages else 0.0
                    rows.append(
                        [
                            pages,
                            cpu,
                            per_page,
                            f"{received:.0f}" if pages else "-",
                            f"{snapshot * 1000:.0f}" if pages else "-",
                        ]
                    )
    print_table(
        f"Console push channel: registry CPU with {instances} instances, {rate:g} status changes/s "
        f"({seconds:g} s per row; floor = 0 pages, same run)",
        ["pages", "registry CPU %", "CPU % per page above floor", "changes/s per page", "snapshot ms"],
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    asyncio.run(main(options.instances, options.rate, options.seconds))
