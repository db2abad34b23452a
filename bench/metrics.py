"""What metrics and the dependency graph cost, measured in one run.

    .venv/bin/python -m bench.metrics [--streams 2000] [--seconds 8] [--rounds 2]

1. Heartbeats and Lookup, metrics off vs on: the same registry command with and without
   `--metrics-port 0`, alternated `--rounds` times so drift on a shared machine hits both alike.
   With metrics on, the endpoint is scraped every `--scrape-interval` seconds (5) during the
   measurement (Prometheus' default is 15 s), and the scrape's own time is reported. Server CPU
   per beat and per Lookup is read from /proc for the server process only.
2. The relay's per-message graph accounting, in process: `Traffic.record` alone (over 200 edges),
   and `Relay.send` with and without a `Traffic` against a forwarder that answers at once, so
   the difference is the accounting and nothing else of the network.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from bench.harness import percentile, print_table
from bench.heartbeats import measure as measure_heartbeats
from bench.heartbeats import registry
from bench.lookup import measure as measure_lookup
from bench.lookup import populate
from registry.core.graph_traffic import Traffic
from registry.core.messages import Envelope, MessageType, Reply
from registry.core.model import (
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    Instance,
    InstanceKey,
    Registration,
)
from registry.core.ports import Target
from registry.core.relay import Balancing, Relay


@contextmanager
def scraping(port: int, interval: float, durations: list[float]) -> Iterator[None]:
    """Scrape http://127.0.0.1:port/metrics every `interval` s until the block ends; each
    scrape's wall time goes to `durations`."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            started = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                response.read()
            durations.append(time.perf_counter() - started)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def metrics_port(log_dir: Path) -> int:
    """The scrape port the newest registry log announces."""
    newest = max(log_dir.glob("registry-*.log"), key=lambda p: p.stat().st_mtime)
    for line in newest.read_text().splitlines():
        if "metrics scrape endpoint" in line:
            return int(line.rsplit(":", 1)[1].split("/")[0])
    raise RuntimeError("no scrape endpoint in the registry log")


def one_config(tmp: Path, name: str, flags: list[str], args: argparse.Namespace) -> dict[str, float]:
    db = tmp / f"{name}-{time.monotonic_ns()}.db"
    with registry(db, 0, *flags) as (proc, address):
        port = metrics_port(tmp) if flags else 0
        scrapes: list[float] = []
        with scraping(port, args.scrape_interval, scrapes) if port else nullcontext():
            beats = measure_heartbeats(proc.pid, address, "registry", args.streams, 1.0, args.seconds)
            size = asyncio.run(populate(address, 100, 10))
            lookup = measure_lookup(proc.pid, address, "lookup", 16, args.seconds, size, 100)
    return {"beat_us": beats["cpu_us"], "beats_per_s": beats["beats_per_s"], "lookup_us": lookup.cpu_us,
            "lookup_rps": lookup.rps, "lookup_p99": lookup.p99,
            "scrape_ms": percentile(scrapes, 50) * 1000 if scrapes else 0.0}  # fmt: skip


# --------------------------------------------------------------------------- relay accounting


class _Instant:
    """A Forwarder that answers at once: what is left of a Send is the registry's own work."""

    async def deliver(self, target: Target, envelope: Envelope, token: str, time_left: float) -> Reply:
        return Reply(b"ok")

    def forget(self, key: InstanceKey) -> None:
        pass


class _Signer:
    issuer = "bench"
    key_id = "bench"
    jwks = "{}"

    def sign(self, *, source: str, target: str, envelope_id: str, now: float | None = None) -> str:
        return "token"


class _Catalog:
    def __init__(self) -> None:
        endpoint = Endpoint("inbox", "127.0.0.1", 1, EndpointProtocol.GRPC)
        registration = Registration("orders", "orders-1", (endpoint,))
        self._instances = {"orders-1": Instance(registration, HealthStatus.HEALTHY, 0, 0, 0, 1, 1)}

    def instances_of(self, service_name: str) -> dict[str, Instance]:
        return self._instances


def relay_cost(traffic: Traffic | None, sends: int) -> float:
    """Seconds per Relay.send (CPU of this process, an immediate forwarder)."""
    relay = Relay(_Catalog(), _Instant(), _Signer(), default_timeout=5.0, traffic=traffic)
    envelopes = [
        Envelope(MessageType.COMMAND, "do", "orders", id=str(i), source_service=f"svc-{i % 50}")
        for i in range(sends)
    ]

    async def run() -> float:
        started = time.process_time()
        for envelope in envelopes:
            await relay.send(envelope, Balancing.ROUND_ROBIN, 5.0)
        return (time.process_time() - started) / sends

    return asyncio.run(run())


def record_cost(records: int) -> float:
    traffic = Traffic()
    keys = [(f"svc-{i % 20}", f"dst-{i % 10}", MessageType.QUERY) for i in range(200)]
    started = time.process_time()
    for i in range(records):
        source, target, kind = keys[i % 200]
        traffic.record(source, target, kind, 0, 0.003)
    return (time.process_time() - started) / records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--scrape-interval", type=float, default=5.0, help="seconds between scrapes")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            results["off"].append(one_config(Path(tmp), "off", [], args))
            results["on"].append(one_config(Path(tmp), "on", ["--metrics-port", "0"], args))
    rows: list[list[Any]] = []
    for name, runs in results.items():
        for index, run in enumerate(runs, 1):
            rows.append([f"metrics {name}", index, run["beats_per_s"], run["beat_us"], run["lookup_rps"],
                         run["lookup_us"], run["lookup_p99"], run["scrape_ms"] or "-"])  # fmt: skip
    print_table(
        f"Heartbeats ({args.streams} streams, 1 beat/s each) and Lookup (concurrency 16), metrics off vs on",
        [
            "registry",
            "round",
            "beats/s",
            "CPU µs/beat",
            "Lookup req/s",
            "CPU µs/Lookup",
            "Lookup p99 ms",
            "scrape ms (median)",
        ],
        rows,
    )
    best = {
        name: (min(r["beat_us"] for r in runs), min(r["lookup_us"] for r in runs))
        for name, runs in results.items()
    }
    print(
        f"\nbest of {args.rounds}: CPU per beat {best['off'][0]:.1f} µs off, {best['on'][0]:.1f} µs on; "
        f"CPU per Lookup {best['off'][1]:.1f} µs off, {best['on'][1]:.1f} µs on"
    )
    record = min(record_cost(args.sends) for _ in range(3))
    off = min(relay_cost(None, args.sends) for _ in range(3))
    on = min(relay_cost(Traffic(), args.sends) for _ in range(3))
    print_table(
        "Relay graph accounting per message (in process, best of 3)",
        ["what", "µs per message"],
        [
            ["Traffic.record alone (200 edges)", record * 1e6],
            ["Relay.send, no graph accounting (floor)", off * 1e6],
            ["Relay.send with graph accounting", on * 1e6],
            ["difference (the accounting on the relay path)", (on - off) * 1e6],
        ],
    )


if __name__ == "__main__":
    main()
