"""The examples run for real: `make demo` starts a registry (auth on) and both services as
processes, and the flow completes with one trace per lead across both services. Run as the README's
"Inspect traces in Jaeger" says (OTEL_EXPORTER_OTLP_ENDPOINT set), each lead's trace is in Jaeger
with the spans of crm, the registry and ai-agents."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.jaeger import Jaeger, parent_of, spans_by_service

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_flow_with_one_trace_per_lead(jaeger: Jaeger) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{jaeger.otlp_grpc}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    lead_traces: list[str] = []
    for lead in ("1", "2"):
        lines = [line for line in out.splitlines() if f" lead={lead} " in line]
        traces = {re.search(r"trace=([0-9a-f]{32})", line).group(1) for line in lines}  # type: ignore[union-attr]
        assert len(traces) == 1, lines
        lead_traces += traces
        text = "\n".join(lines)
        assert "[ai-agents]" in text
        assert "saw event lead.created from crm" in text
        assert "command analyze from crm" in text
        assert "heard ai.analysis_completed from ai-agents" in text
    assert "[demo] OK" in out
    assert "[ai-agents] stopped (said goodbye, deregistered)" in out

    for trace_id in lead_traces:
        trace = jaeger.trace(trace_id, lambda t: {"crm", "registry", "ai-agents"} <= set(spans_by_service(t)))
        span_ids = {span["spanID"] for span in trace["spans"]}
        roots = [span for span in trace["spans"] if parent_of(span) is None]
        assert [root["operationName"] for root in roots] == ["create lead"], "crm's view starts the trace"
        assert all(parent_of(span) in {None, *span_ids} for span in trace["spans"])
