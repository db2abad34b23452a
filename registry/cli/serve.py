"""`registry serve`: run the registry in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from registry import logs
from registry.app import serve
from registry.auth.delivery_tokens import SigningKeyError
from registry.config import ConfigError, add_arguments, build_config
from registry.core.ports import StoreOpenError


def _serve(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except ConfigError as error:
        print(f"registry serve: {error}", file=sys.stderr)
        return 2
    logs.configure(config.log_level, config.log_format)
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, absent on some platforms

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency where it exists
        runner = asyncio.run
    try:
        runner(serve(config))
    except (StoreOpenError, ConfigError, SigningKeyError) as error:
        # One line naming the file and the cause (a database, key or certificate file found
        # unusable at start); the operator needs no traceback for these.
        print(f"registry serve: {error}", file=sys.stderr)
        return 2
    return 0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the registry (default 127.0.0.1:50051, ./registry.db)")
    add_arguments(parser)
    parser.set_defaults(func=_serve)
