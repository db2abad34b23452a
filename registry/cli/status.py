"""`registry status [SERVICE]`: the liveness of every instance (or one service's) and a summary."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import grpc

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from registry.cli import common
from registry.cli.discovery import status_name

HEADERS = [
    "SERVICE",
    "INSTANCE",
    "STATUS",
    "STREAM",
    "BEATS",
    "MISSED",
    "FAILS",
    "LATENCY MS AVG/MIN/MAX",
    "UPTIME",
    "LAST BEAT",
]
_COUNTED = ("unknown", "healthy", "degraded", "critical", "dead", "draining")


def _row(health: hb.InstanceHealth) -> list[object]:
    latency = f"{health.average_latency_ms:.1f}/{health.min_latency_ms:.1f}/{health.max_latency_ms:.1f}"
    last = f"{health.seconds_since_last:.1f}s ago" if health.HasField("last_heartbeat_time") else "never"
    return [
        health.service_name,
        health.instance_id,
        status_name(health.status),
        "yes" if health.stream_connected else "no",
        health.heartbeat_count,
        health.missed_heartbeats,
        health.consecutive_failures,
        latency if health.heartbeat_count else "-",
        f"{health.uptime_percentage:.1f}%",
        last,
    ]


def _counts_text(counts: hb.StatusCounts) -> str:
    return ", ".join(f"{getattr(counts, name)} {name}" for name in _COUNTED)


async def _healths(
    stub: hb_grpc.HeartbeatServiceAsyncStub, args: argparse.Namespace
) -> list[hb.InstanceHealth]:
    healths: list[hb.InstanceHealth] = []
    token = ""
    while True:
        request = hb.ListInstanceHealthRequest(
            service_name=args.service or "", page_size=1000, page_token=token
        )
        page = await stub.ListInstanceHealth(request, metadata=common.metadata(args), timeout=args.timeout)
        healths.extend(page.healths)
        token = page.next_page_token
        if not token:
            return healths


async def _show(args: argparse.Namespace) -> int:
    async with common.channel(args) as channel:
        stub = hb_grpc.HeartbeatServiceStub(channel)
        healths = await _healths(stub, args)
        summary = await stub.GetHealthSummary(
            hb.GetHealthSummaryRequest(), metadata=common.metadata(args), timeout=args.timeout
        )
    if args.service:
        picked = [s for s in summary.services if s.service_name == args.service]
        del summary.services[:]
        summary.services.extend(picked)
    if args.json:
        common.print_json(
            {
                "instances": [common.message_json(h) for h in healths],
                "summary": common.message_json(summary),
            }
        )
        return 0
    common.print_table(HEADERS, (_row(h) for h in healths))
    print()
    for service in summary.services:
        print(common.printable(f"{service.service_name}: {_counts_text(service.counts)}"))
    if not args.service:
        print(f"total: {_counts_text(summary.total)}")
    print(
        f"self-preservation: {'ENGAGED' if summary.self_preservation_active else 'off'}"
        f"  startup grace: {'on' if summary.startup_grace_active else 'off'}"
        f"  heartbeat streams: {summary.open_streams}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_show(args))
    except grpc.aio.AioRpcError as error:
        return common.fail(error)
    except OSError as error:  # an unreadable TLS file
        return common.fail_setup(error)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="liveness and heartbeat metrics per instance, and a summary"
    )
    common.add_client_arguments(parser)
    parser.add_argument("service", nargs="?", help="only this service's instances")
    parser.set_defaults(func=_status)
