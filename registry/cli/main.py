"""Entry point of the `registry` console script: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# grpc's C core writes lines of its own to stderr (each failed TLS handshake, with etcd or with a
# client, at INFO and ERROR), outside the registry's log format and levels, read once when grpc
# loads: so this comes before any import of grpc. What they say reaches our own log and errors
# anyway (the failed call's error names the cause: docs/operations.md "Running"); an operator who
# wants them sets GRPC_VERBOSITY=ERROR (or INFO, DEBUG).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from registry.cli import credentials, discovery, graph, serve, status, token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="gRPC service registry")
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(subparsers)
    discovery.add_parsers(subparsers)
    token.add_parser(subparsers)
    credentials.add_parser(subparsers)
    status.add_parser(subparsers)
    graph.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # `registry status | head` closed our stdout: not an error. Point stdout at /dev/null so
        # the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
