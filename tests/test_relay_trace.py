"""One OpenTelemetry trace across three real processes: caller -> `registry serve` -> target.

Each process exports its spans over OTLP/gRPC to a real trace receiver that writes them to a
file (see tests/helpers/otlp_sink.py for why it is not the collector binary); the file must hold
exactly one trace, linked caller -> registry SERVER span -> registry CLIENT span -> target
handler, and the envelope's trace id must be that trace.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers.otlp_sink import otlp_sink, read_spans
from tests.helpers.process import running_server

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(rb"inbox serving address=(\S+)")


async def _start_target(registry: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.inbox_target", registry, "orders", "orders-1",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        while not _READY.search(line := await proc.stdout.readline()):
            assert line, "the target exited before serving"
    return proc


async def _spans_of_three(path: Path) -> list[dict[str, Any]]:
    """The spans in the file once all three processes have exported theirs (bounded wait)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        spans = read_spans(path)
        if {"caller", "registry", "orders"} <= {s["service"] for s in spans} and len(spans) >= 4:
            return spans
        await asyncio.sleep(0.05)
    raise AssertionError(f"spans did not arrive from all three processes: {read_spans(path)}")


async def test_one_trace_runs_from_caller_through_registry_to_target(tmp_path: Path) -> None:
    spans_file = tmp_path / "spans.jsonl"
    async with otlp_sink(spans_file) as endpoint:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{endpoint}",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "PYTHONPATH": str(ROOT),
        }
        with running_server(
            tmp_path / "registry.db", "--otlp-endpoint", endpoint, "--log-level", "DEBUG", env=env
        ) as registry:
            target = await _start_target(registry.address, env)
            try:
                caller = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tests.helpers.relay_caller", registry.address, "orders",
                    cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                async with asyncio.timeout(30):
                    out, err = await caller.communicate()
                assert caller.returncode == 0, err.decode()
                result = json.loads(out)
                spans = await _spans_of_three(spans_file)
            finally:
                target.terminate()
                await target.wait()
            registry_log = registry.output()

    trace_ids = {s["trace_id"] for s in spans}
    assert trace_ids == {result["root_trace_id"]}, "the file must hold exactly one trace"
    trace_id = result["root_trace_id"]
    assert result["trace_id"] == trace_id, "SendResponse.trace_id is the OpenTelemetry trace id"
    assert result["reply"]["trace_id"] == trace_id, "the delivered envelope's trace_id is the trace id"
    assert result["reply"]["handler_trace_id"] == trace_id, "the target's handler joined the trace"

    by_service = {
        service: [s for s in spans if s["service"] == service] for service in ("caller", "registry", "orders")
    }
    (root,) = by_service["caller"]
    assert root["name"] == "caller.send"
    assert root["parent_span_id"] == "", "the caller started the trace"
    server = next(s for s in by_service["registry"] if s["name"] == "registry.v1.RelayService/Send")
    client = next(s for s in by_service["registry"] if s["name"] == "registry.v1.InboxService/Deliver")
    (handler,) = by_service["orders"]
    assert server["parent_span_id"] == root["span_id"], "the registry continues the caller's span"
    assert server["kind"] == 2  # SPAN_KIND_SERVER
    assert client["parent_span_id"] == server["span_id"], "the forward is a child of the Send span"
    assert client["kind"] == 3  # SPAN_KIND_CLIENT
    assert handler["parent_span_id"] == client["span_id"], "the target continues the forward's span"
    assert len(spans) == 4, f"no stray spans (e.g. one per heartbeat or registration): {spans}"

    relayed = [line for line in registry_log.splitlines() if "relayed" in line]
    assert relayed, registry_log
    assert all(f"trace_id={trace_id}" in line for line in relayed), registry_log
