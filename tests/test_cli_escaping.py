"""Hostile text never reaches an operator's terminal: endpoint hosts with IPv6 zone ids are
validated strictly, and every CLI table escapes control characters (for values stored before
the rules were strict, or that the rules let through)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys

import grpc
import pytest

from registry.cli import common
from tests.conftest import StartRegistry
from tests.helpers.cli import run_cli
from tests.helpers.registry_api import bad_request_fields, endpoint, register, stub

HOSTILE_ZONES = {
    "ansi-escape": "::1%\x1b[2J\x1b[31mPWNED",
    "nul": "::1%eth0\x00",
    "newline": "fe80::1%eth0\nFAKE LOG LINE",
    "html": "::1%<script>alert(1)</script>",
    "bidi-override": "fe80::1%\u202eeth0",
    "empty": "fe80::1%",
    "too-long": "fe80::1%" + "a" * 33,
    "on-ipv4": "10.0.0.1%eth0",
    "bracketed-escape": "[::1%\x1b]",
}


@pytest.mark.parametrize("host", HOSTILE_ZONES.values(), ids=HOSTILE_ZONES.keys())
async def test_hostile_ipv6_zone_ids_are_refused(channel: grpc.aio.Channel, host: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(stub(channel), "orders", "orders-1", endpoints=[endpoint(host=host)])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(refused.value) == ["instance.endpoints[0].host"]
    assert "\x1b" not in (refused.value.details() or "")


@pytest.mark.parametrize("host", ["fe80::1%eth0", "fe80::1%2", "[fe80::1%en0.100]", "::1", "[::1]"])
async def test_real_zone_ids_are_accepted(channel: grpc.aio.Channel, host: str) -> None:
    await register(stub(channel), "orders", "orders-1", endpoints=[endpoint(host=host)])


def test_every_table_cell_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    common.print_table(["A", "B"], [["ok", "\x1b[31mred\u202e\x00\n\u2028\u200b"]])
    out = capsys.readouterr().out
    assert out.count("\n") == 2  # a header and one row: the newline in the cell is escaped
    assert out.isprintable() or out.replace("\n", "").isprintable()
    assert r"\x1b[31mred\u202e\x00\x0a\u2028\u200b" in out


def _in_json(text: str) -> str:
    """`text` as it appears inside a JSON string (the endpoints column is JSON)."""
    return json.dumps(text)[1:-1]


async def test_ls_and_lookup_escape_a_hostile_host_stored_before_validation(
    start_registry: StartRegistry,
) -> None:
    """A database written by an older registry, whose rules let the escape sequence in."""
    registry = await start_registry()
    async with grpc.aio.insecure_channel(registry.address) as ch:
        await register(stub(ch), "orders", "orders-1", endpoints=[endpoint(host="10.9.9.9")])
    await registry.stop(grace=0)
    hostile = "::1%\x1b[2J\x1b[31mPWNED\u202e"
    with sqlite3.connect(registry.config.db_path) as db:
        db.execute("UPDATE instances SET endpoints = replace(endpoints, '10.9.9.9', ?)", (_in_json(hostile),))
    registry = await start_registry()
    for args in (["ls", "--instances"], ["lookup", "orders"]):
        out = await run_cli(args[0], registry.address, *args[1:])
        assert "PWNED" in out, out
        assert "\x1b" not in out
        assert "\u202e" not in out
        assert r"\x1b[2J\x1b[31mPWNED\u202e" in out


async def test_watch_lines_are_escaped(start_registry: StartRegistry) -> None:
    registry = await start_registry()
    async with grpc.aio.insecure_channel(registry.address) as ch:
        await register(stub(ch), "orders", "orders-1", endpoints=[endpoint(host="10.9.9.9")])
    await registry.stop(grace=0)
    with sqlite3.connect(registry.config.db_path) as db:
        db.execute(
            "UPDATE instances SET endpoints = replace(endpoints, '10.9.9.9', ?)", (_in_json("::1%\x1bX"),)
        )
    registry = await start_registry()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry.cli.main",
        "watch",
        "orders",
        "--address",
        registry.address,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
    finally:
        process.kill()
        await process.wait()
    assert b"\x1b" not in line
    assert rb"::1%\x1bX" in line
