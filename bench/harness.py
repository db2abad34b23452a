"""What every benchmark shares: child processes, their CPU time, percentiles and a table.

Servers and load generators run as separate processes, so the server's CPU cost can be read
from /proc without counting the client's, and both can use a core each on a 2-core machine.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process's main thread: a Python server's event loop, which
    saturates first (the process's other threads, SQLite's and grpc's, run beside it)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


@dataclass
class Child:
    proc: subprocess.Popen[str]
    address: str

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextmanager
def child(
    args: Sequence[str], ready: str, env: dict[str, str] | None = None, *, read_output: bool = False
) -> Iterator[Child]:
    """Run `python args...`, wait until its output matches `ready` (a regex whose group 1 is the
    address), and kill it afterwards. With `read_output` the caller reads the rest of the output
    itself; otherwise it is read and dropped in the background."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    pattern = re.compile(ready)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    address = ""
    for line in proc.stdout:
        match = pattern.search(line)
        if match:
            address = match.group(1)
            break
        if time.monotonic() > deadline:
            break
    if not address:
        proc.kill()
        raise RuntimeError(f"{args} did not become ready")
    if not read_output:  # a child that logs per request would block on a full pipe and stall the run
        threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
    try:
        yield Child(proc, address)
    finally:
        proc.kill()
        proc.wait(10)


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[f"{c:.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
