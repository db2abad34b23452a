"""The examples run for real: `make demo` starts a registry (auth on) and both services as
processes, and the flow completes with one trace per lead across both services."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_flow_with_one_trace_per_lead() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for lead in ("1", "2"):
        lines = [line for line in out.splitlines() if f" lead={lead} " in line]
        traces = {re.search(r"trace=([0-9a-f]{32})", line).group(1) for line in lines}  # type: ignore[union-attr]
        assert len(traces) == 1, lines
        text = "\n".join(lines)
        assert "[ai-agents]" in text
        assert "saw event lead.created from crm" in text
        assert "command analyze from crm" in text
        assert "heard ai.analysis_completed from ai-agents" in text
    assert "[demo] OK" in out
    assert "[ai-agents] stopped (said goodbye, deregistered)" in out
