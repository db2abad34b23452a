"""Run the real `registry` command as a child process against a registry."""

from __future__ import annotations

import asyncio
import sys


async def run_cli(command: str, address: str, *args: str) -> str:
    """`registry COMMAND --address ADDRESS ARGS...`; its stdout, after checking it exited 0."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry.cli.main",
        command,
        "--address",
        address,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()
