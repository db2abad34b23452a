"""The console under a big, busy fleet: 5,000 instances and 100 status changes per second, in a
real browser. It measures (prints; does not assert timing) how long a status change takes from
the registry's catalog to the page's table, and the page's frame gaps, as docs/benchmarks.md
records. It asserts that the page keeps up: every instance is shown and changes keep arriving.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import OPERATOR, ROOT, ConsoleRegistry, screenshot, sign_in

INSTANCES = 5_000
RATE = 100
MEASURE_SECONDS = 8
RESET_STATS = """() => {
    const s = window.__consoleStats;
    s.updateLatencyMs.length = 0;
    s.frameGapsMs.length = 0;
    s.changes = 0;
}"""


@pytest.fixture(scope="module")
def churn(console_registry: ConsoleRegistry) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fleet_churn",
            console_registry.server.address,
            str(INSTANCES),
            str(RATE),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={"REGISTRY_TOKEN": OPERATOR, "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready"), line
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@pytest.mark.timeout(120)
def test_the_page_keeps_up_with_5000_instances_and_100_changes_per_second(
    console_registry: ConsoleRegistry, churn: subprocess.Popen[str], page: Page, tmp_path: Path
) -> None:
    sign_in(page, console_registry.url)
    expect(page.locator("#sum-instances")).to_have_attribute("data-value", str(INSTANCES), timeout=30_000)
    page.click('#services tr[data-service="svc-07"]')
    page.evaluate(RESET_STATS)
    started = time.monotonic()
    page.wait_for_timeout(MEASURE_SECONDS * 1000)
    elapsed = time.monotonic() - started
    stats = page.evaluate("() => window.__consoleStats")
    latencies, gaps = stats["updateLatencyMs"], stats["frameGapsMs"]
    assert latencies, "no status change reached the page"
    rate = stats["changes"] / elapsed
    p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
    print(
        f"\nconsole at {INSTANCES} instances, {RATE} changes/s offered: {rate:.0f} changes/s rendered; "
        f"status change -> row: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies):.0f} ms; "
        f"frame gap p50 {statistics.median(gaps):.1f} ms, p95 {_percentile(gaps, 95):.1f} ms, "
        f"max {max(gaps):.0f} ms; last render {stats['lastRenderMs']:.1f} ms"
    )
    assert rate > RATE / 4, f"the page fell behind: {rate:.0f} changes/s"
    expect(page.locator("#sum-instances")).to_have_attribute("data-value", str(INSTANCES))
    screenshot(page, tmp_path, "console-fleet-5000")
