"""`registry serve`: run the registry in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from typing import Any

from registry import logs
from registry.app import serve
from registry.auth.delivery_tokens import SigningKeyError
from registry.config import ConfigError, add_arguments, build_config
from registry.core.ports import StoreOpenError

GC_THRESHOLDS = (100_000, 50, 100)
"""Collector thresholds for a long-running registry (CPython's default is (700, 10, 10)).

A registry holds a few hundred long-lived objects per instance (the registration, its cached
encoding, its liveness record, the stream's call objects), and every Register, bind and beat
allocates short-lived ones. With the default thresholds the collector ran so often that it cost
about a third of the server's CPU while 10,000 instances opened (docs/benchmarks.md, "Opening
and the garbage collector"). Collecting the youngest generation every 100,000 net allocations
instead of 700 keeps that work small; garbage without cycles is still freed at once by reference
counting, and cyclic garbage waits at most one such round."""


def _serve(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except ConfigError as error:
        print(f"registry serve: {error}", file=sys.stderr)
        return 2
    logs.configure(config.log_level, config.log_format)
    gc.set_threshold(*GC_THRESHOLDS)
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
