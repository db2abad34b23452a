"""Entry point of the `registry` console script: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from registry.cli import discovery, serve, status, token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="gRPC service registry")
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(subparsers)
    discovery.add_parsers(subparsers)
    token.add_parser(subparsers)
    status.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
