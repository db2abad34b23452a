"""A real Jaeger v2 (all-in-one, in-memory) for the trace tests, on free loopback ports.

`make test` builds it first (scripts/ensure-jaeger.sh links .tools/jaeger); it runs with
scripts/jaeger.yaml, whose ports come from the environment. Traces are read back through the
query service's HTTP API (`/api/traces/<id>`), as a user would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".tools" / "jaeger"
CONFIG = ROOT / "scripts" / "jaeger.yaml"
_READY = "Everything is ready"


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Jaeger:
    otlp_grpc: str  # host:port, for `--otlp-endpoint`
    query_url: str  # http://host:port
    log: Path

    @property
    def otlp_env(self) -> dict[str, str]:
        """What a process needs to export its spans here: OTLP/gRPC, exported every 50 ms."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{self.otlp_grpc}", "OTEL_BSP_SCHEDULE_DELAY": "50"}

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.query_url}{path}", timeout=5) as response:
            return json.load(response)

    def trace(
        self, trace_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> dict[str, Any]:
        """The trace `trace_id` from the query API, once `until(trace)` holds (bounded wait)."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                data = self.get(f"/api/traces/{trace_id}")["data"]
            except urllib.error.HTTPError as error:
                if error.code != 404:  # not stored yet
                    raise
                data = []
            if data:
                assert len(data) == 1, f"one trace per id: {data}"
                last = data[0]
                if until(last):
                    return last
            time.sleep(0.05)
        raise AssertionError(f"trace {trace_id} did not complete in {timeout}s; last seen: {last}")


@contextmanager
def running_jaeger(workdir: Path) -> Iterator[Jaeger]:
    assert BINARY.exists(), (
        "Jaeger is built by `make test` (or `make jaeger-build`): scripts/ensure-jaeger.sh"
    )
    ports = {name: _free_port() for name in ("OTLP_GRPC", "OTLP_HTTP", "QUERY_HTTP", "QUERY_GRPC")}
    env = {**os.environ, **{f"JAEGER_{name}_PORT": str(port) for name, port in ports.items()}}
    log = workdir / "jaeger.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(BINARY), "--config", str(CONFIG)], stdout=sink, stderr=subprocess.STDOUT, env=env
        )
    jaeger = Jaeger(f"127.0.0.1:{ports['OTLP_GRPC']}", f"http://127.0.0.1:{ports['QUERY_HTTP']}", log)
    try:
        deadline = time.monotonic() + 30
        while _READY not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Jaeger did not start (exit {proc.poll()}):\n{log.read_text()}")
            time.sleep(0.05)
        yield jaeger
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def spans_by_service(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The trace's spans grouped by the `service.name` of the process that reported them."""
    services = {key: process["serviceName"] for key, process in trace["processes"].items()}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for span in trace["spans"]:
        grouped.setdefault(services[span["processID"]], []).append(span)
    return grouped


def parent_of(span: dict[str, Any]) -> str | None:
    """The span id of the CHILD_OF parent, or None for a root span."""
    parents = [ref["spanID"] for ref in span.get("references", []) if ref["refType"] == "CHILD_OF"]
    assert len(parents) <= 1, span
    return parents[0] if parents else None


def kind_of(span: dict[str, Any]) -> str:
    """`client`, `server`, `producer`, `consumer` or `internal` (Jaeger's `span.kind` tag)."""
    tags = {tag["key"]: tag["value"] for tag in span.get("tags", [])}
    return str(tags.get("span.kind", "internal"))
