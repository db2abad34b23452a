"""Run `registry serve` as a real child process and find the port it bound."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_ADDRESS = re.compile(r"registry serving .*address=(\S+)")
_ERROR_LINE = re.compile(r"^\S+ (ERROR|CRITICAL)\b|^Traceback|^ERROR:|Exception in callback")


class ServerProcess:
    def __init__(self, proc: subprocess.Popen[str], address: str, log: Path) -> None:
        self.proc = proc
        self.address = address
        self.log = log

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text()

    def error_lines(self) -> list[str]:
        """Lines of the log at ERROR or above, and tracebacks (grpc.aio's own logging included)."""
        return [line for line in self.output().splitlines() if _ERROR_LINE.search(line)]


def start_server(db_path: Path, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start `registry serve --port 0` and wait (bounded) until it logs its address."""
    log = db_path.parent / f"server-{time.monotonic_ns()}.log"
    full_env = {**os.environ, "REGISTRY_AUTH_MODE": "off", **(env or {})}
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry.cli.main",
                "serve",
                "--port",
                "0",
                "--db-path",
                str(db_path),
                *args,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=full_env,
            text=True,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = _ADDRESS.search(log.read_text())
        if match:
            return ServerProcess(proc, match.group(1), log)
        if proc.poll() is not None:
            raise RuntimeError(f"registry exited with {proc.returncode}:\n{log.read_text()}")
        time.sleep(0.02)
    proc.kill()
    raise TimeoutError(f"registry did not start:\n{log.read_text()}")


@contextmanager
def running_server(db_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    server = start_server(db_path, *args, env=env)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)
