"""What every client subcommand shares: where the registry is, the token, output as table or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

DEFAULT_ADDRESS = "127.0.0.1:50051"


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=os.environ.get("REGISTRY_ADDRESS", DEFAULT_ADDRESS),
        help=f"registry host:port; a cluster: several comma-separated, or dns:///name:port "
        f"(env REGISTRY_ADDRESS, default {DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--token", default=os.environ.get("REGISTRY_TOKEN"), help="JWT for the call (env REGISTRY_TOKEN)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call (default 5)")


def metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {args.token}"),) if args.token else ()


def channel(args: argparse.Namespace) -> grpc.aio.Channel:
    """One registry, or a cluster (comma-separated addresses): round-robin over its replicas, and
    calls retried once on another replica when one is down."""
    addresses = [a.strip() for a in args.address.split(",") if a.strip()]
    if len(addresses) <= 1 and not args.address.startswith("dns:"):
        return grpc.aio.insecure_channel(args.address)
    from client.config import grpc_target  # noqa: PLC0415 - only for a cluster: the SDK is slow to import

    target = args.address if len(addresses) == 1 else grpc_target(addresses)
    return grpc.aio.insecure_channel(target, options=[("grpc.service_config", _CLUSTER_CONFIG)])


_CLUSTER_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def message_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Left-aligned columns sized to their widest cell; an empty table says so."""
    cells = [[str(c) for c in row] for row in rows]
    if not cells:
        print("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def fail(error: grpc.aio.AioRpcError) -> int:
    print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
    return 1
