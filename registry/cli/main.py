"""Entry point of the `registry` console script: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

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
