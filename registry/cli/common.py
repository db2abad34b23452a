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
_TLS_FILES = (
    ("--tls-ca-file", "REGISTRY_TLS_CA_FILE", "PEM CA that signed the registry's certificate; turns TLS on"),
    ("--tls-client-cert-file", "REGISTRY_TLS_CLIENT_CERT_FILE", "PEM client certificate, for mutual TLS"),
    ("--tls-client-key-file", "REGISTRY_TLS_CLIENT_KEY_FILE", "PEM key of --tls-client-cert-file"),
)


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
    parser.add_argument(
        "--tls",
        action="store_true",
        default=os.environ.get("REGISTRY_TLS", "").lower() in {"1", "true", "yes", "on"},
        help="connect with TLS, verifying with the system roots (env REGISTRY_TLS=1)",
    )
    for flag, env, what in _TLS_FILES:
        parser.add_argument(flag, default=os.environ.get(env) or None, help=f"{what} (env {env})")
    parser.add_argument(
        "--tls-server-name",
        default=os.environ.get("REGISTRY_TLS_SERVER_NAME") or None,
        help="name the registry's certificate must carry, when not the address's host "
        "(env REGISTRY_TLS_SERVER_NAME)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call (default 5)")


def metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {args.token}"),) if args.token else ()


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def channel(args: argparse.Namespace) -> grpc.aio.Channel:
    """Plaintext, or TLS when `--tls` or any TLS file is given (the same REGISTRY_TLS_* variables
    as the client SDK). A cluster (comma-separated addresses, or `dns:///name:port`): round-robin
    over its replicas, calls retried on another replica when one is down."""
    target, options = _target(args.address)
    if not (args.tls or args.tls_ca_file or args.tls_client_cert_file):
        return grpc.aio.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(args.tls_ca_file),
        private_key=_read(args.tls_client_key_file),
        certificate_chain=_read(args.tls_client_cert_file),
    )
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    return grpc.aio.secure_channel(target, credentials, options=options)


def _target(address: str) -> tuple[str, list[tuple[str, Any]]]:
    addresses = [a.strip() for a in address.split(",") if a.strip()]
    if len(addresses) <= 1 and not address.startswith("dns:"):
        return address, []
    from client.config import grpc_target  # noqa: PLC0415 - only for a cluster: the SDK is slow to import

    target = address if len(addresses) == 1 else grpc_target(addresses)
    return target, [("grpc.service_config", _CLUSTER_CONFIG)]


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


def printable(text: object) -> str:
    """`text` safe for a terminal: every character Python does not call printable (control
    characters such as ESC, NUL and newline; format characters such as bidi overrides and
    zero-width joiners; separators other than the space) is shown as a `\\xNN`, `\\uNNNN` or
    `\\UNNNNNNNN` escape instead of being interpreted. Values come from other services'
    registrations, so an operator's terminal must never act on them."""
    value = str(text)
    if value.isprintable():  # the common case, checked in C
        return value
    return "".join(c if c.isprintable() else _escape(ord(c)) for c in value)


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Left-aligned columns sized to their widest cell, every cell `printable`; an empty table says
    so."""
    cells = [[printable(c) for c in row] for row in rows]
    if not cells:
        print("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def fail(error: grpc.aio.AioRpcError) -> int:
    print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
    return 1


def fail_setup(error: OSError) -> int:
    print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
    return 2
