"""Server configuration: flags and `REGISTRY_*` environment variables, validated once at start.

Every setting has a flag `--some-name` and an environment variable `REGISTRY_SOME_NAME`; a flag wins
over the environment, the environment over the default. Limits live here too, so every resource a
caller can grow has one documented, enforced number (docs/operations.md lists them).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class Config:
    """All server settings. Field metadata `help` feeds the CLI and docs."""

    host: str = dataclasses.field(default="127.0.0.1", metadata={"help": "address to bind"})
    port: int = dataclasses.field(default=50051, metadata={"help": "port to bind; 0 picks a free one"})
    db_path: Path = dataclasses.field(
        default=Path("registry.db"), metadata={"help": "SQLite database file (its folder is the data dir)"}
    )
    log_level: str = dataclasses.field(default="INFO", metadata={"help": "DEBUG, INFO, WARNING or ERROR"})
    log_format: str = dataclasses.field(default="text", metadata={"help": "text or json"})
    grace_seconds: float = dataclasses.field(
        default=5.0, metadata={"help": "on SIGTERM/SIGINT, how long open calls may finish"}
    )
    max_message_bytes: int = dataclasses.field(
        default=1 << 20, metadata={"help": "largest request or response message"}
    )
    max_concurrent_streams: int = dataclasses.field(
        default=0, metadata={"help": "HTTP/2 streams per connection; 0 leaves grpc's default"}
    )
    # Watch
    watch_history: int = dataclasses.field(
        default=10_000, metadata={"help": "changes kept for watch resume"}
    )
    watch_buffer: int = dataclasses.field(
        default=1_024, metadata={"help": "changes queued per watcher before it is cut"}
    )
    max_watchers: int = dataclasses.field(default=10_000, metadata={"help": "open Watch streams"})
    max_instances: int = dataclasses.field(default=100_000, metadata={"help": "registered instances"})
    persist_interval: float = dataclasses.field(
        default=0.05, metadata={"help": "seconds between batched writes of status changes"}
    )

    @property
    def data_dir(self) -> Path:
        return self.db_path.resolve().parent

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def binds_loopback(self) -> bool:
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def env_name(field_name: str) -> str:
    return "REGISTRY_" + field_name.upper()


def _convert(value: str, kind: Any) -> Any:
    if kind in ("bool", bool):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    converter = {"int": int, "float": float, "Path": Path, "str": str}.get(str(kind), str)
    return converter(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one `--flag` per Config field, defaulting to None so the environment can fill in."""
    for f in fields(Config):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata.get('help', '')} (env {env_name(f.name)}, default {f.default})"
        if f.type in ("bool", bool):
            parser.add_argument(flag, dest=f.name, action="store_const", const="true", help=help_text)
        else:
            parser.add_argument(flag, dest=f.name, default=None, help=help_text)


def build_config(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Resolve flags over environment over defaults, and validate the result."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Config):
        raw = getattr(args, f.name, None) if args is not None else None
        if raw is None:
            raw = env.get(env_name(f.name))
        if raw is None:
            continue
        try:
            values[f.name] = _convert(str(raw), f.type)
        except ValueError as exc:
            raise ConfigError(f"{f.name}: {exc}") from exc
    config = Config(**values)
    validate(config)
    return config


class ConfigError(ValueError):
    """A setting is malformed or out of range; the server refuses to start."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate(config: Config) -> None:
    _require(0 <= config.port <= 65535, "port must be 0-65535")
    _require(config.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "log_level is unknown")
    _require(config.log_format in {"text", "json"}, "log_format must be text or json")
    _require(config.grace_seconds >= 0, "grace_seconds must be >= 0")
    _require(4096 <= config.max_message_bytes <= 64 << 20, "max_message_bytes must be 4 KiB-64 MiB")
    _require(config.watch_history >= 1, "watch_history must be >= 1")
    _require(config.watch_buffer >= 1, "watch_buffer must be >= 1")
    _require(config.max_watchers >= 1, "max_watchers must be >= 1")
    _require(config.max_instances >= 1, "max_instances must be >= 1")
    _require(0 < config.persist_interval <= 10, "persist_interval must be in (0, 10]")


def config_for_tests(overrides: Mapping[str, Any] | None = None) -> Config:
    """A Config on an ephemeral loopback port; used by the test suite and benchmarks."""
    config = dataclasses.replace(Config(port=0), **dict(overrides or {}))
    validate(config)
    return config
