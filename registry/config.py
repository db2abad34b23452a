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
    watch_history: int = dataclasses.field(default=10_000, metadata={"help": "changes kept for watch resume"})
    watch_buffer: int = dataclasses.field(
        default=1_024, metadata={"help": "changes queued per watcher before it is cut"}
    )
    max_watchers: int = dataclasses.field(default=10_000, metadata={"help": "open Watch streams"})
    max_watchers_per_caller: int = dataclasses.field(
        default=5_000, metadata={"help": "open Watch streams per caller (token subject)"}
    )
    watch_buffer_bytes: int = dataclasses.field(
        default=4 * 1024 * 1024,
        metadata={"help": "approximate bytes of changes queued per watcher before it is cut"},
    )
    max_instances: int = dataclasses.field(default=100_000, metadata={"help": "registered instances"})
    persist_interval: float = dataclasses.field(
        default=0.05, metadata={"help": "seconds between batched writes of status changes"}
    )
    # Liveness (docs/operations.md, "Liveness")
    reap_seconds: float = dataclasses.field(
        default=300.0, metadata={"help": "seconds a dead instance stays registered before it is removed"}
    )
    startup_grace_seconds: float = dataclasses.field(
        default=30.0, metadata={"help": "after start, seconds during which silence kills nobody"}
    )
    self_preservation_threshold: float = dataclasses.field(
        default=0.5,
        metadata={"help": "share of instances that may fail per window before failures are held; 1 disables"},
    )
    self_preservation_window_seconds: float = dataclasses.field(
        default=15.0, metadata={"help": "sliding window of the self-preservation rule"}
    )
    max_heartbeat_streams: int = dataclasses.field(
        default=20_000, metadata={"help": "open Heartbeat streams"}
    )
    max_heartbeat_streams_per_caller: int = dataclasses.field(
        default=10_000, metadata={"help": "open Heartbeat streams per caller (token subject)"}
    )
    heartbeat_bind_timeout: float = dataclasses.field(
        default=10.0, metadata={"help": "seconds a Heartbeat stream may stay open before it binds"}
    )
    stream_break_debounce_ms: int = dataclasses.field(
        default=50,
        metadata={"help": "milliseconds after which a broken heartbeat stream makes its instance critical"},
    )
    # Auth (docs/security.md)
    auth_mode: str = dataclasses.field(
        default="jwt", metadata={"help": "jwt (every call carries a bearer token) or off"}
    )
    jwt_secret: str = dataclasses.field(
        default="",
        repr=False,
        metadata={"help": "HS256 shared secret, at least 32 bytes; prefer the environment to the flag"},
    )
    jwt_secret_file: str = dataclasses.field(
        default="", metadata={"help": "file holding the HS256 secret; default DATA_DIR/jwt-secret"}
    )
    jwks_file: str = dataclasses.field(
        default="", metadata={"help": "JWKS file of EdDSA/ES256/RS256 public keys, reloaded on change"}
    )
    service_keys_file: str = dataclasses.field(
        default="",
        metadata={
            "help": "JWKS of per-service keys bound to a subject and scopes (registry credentials); "
            "default DATA_DIR/service-keys.json; with --store etcd the keys come from etcd instead"
        },
    )
    jwks_reload_seconds: float = dataclasses.field(
        default=1.0, metadata={"help": "at most this often the JWKS file is checked for changes"}
    )
    jwt_audience: str = dataclasses.field(default="registry", metadata={"help": "required `aud` claim"})
    jwt_issuers: str = dataclasses.field(
        default="", metadata={"help": "comma-separated accepted `iss` values; empty accepts any"}
    )
    jwt_leeway_seconds: float = dataclasses.field(
        default=30.0, metadata={"help": "clock skew tolerated on exp/nbf/iat, 0-300"}
    )
    auth_public_methods: str = dataclasses.field(
        default="health,reflection",
        metadata={"help": "comma-separated groups callable without a token: health, reflection"},
    )
    insecure: bool = dataclasses.field(
        default=False,
        metadata={"help": "allow auth_mode=off, or JWT auth without TLS, on a non-loopback address"},
    )
    # TLS (docs/security.md, "Transport security")
    tls_cert_file: str = dataclasses.field(
        default="", metadata={"help": "PEM certificate chain to serve TLS with (needs tls_key_file)"}
    )
    tls_key_file: str = dataclasses.field(default="", metadata={"help": "PEM private key of tls_cert_file"})
    tls_client_ca_file: str = dataclasses.field(
        default="", metadata={"help": "PEM CA(s); clients must present a certificate it signed (mutual TLS)"}
    )
    tls_reload_seconds: float = dataclasses.field(
        default=1.0, metadata={"help": "at most this often the TLS files are checked for changes"}
    )
    # Relay and events (docs/relay.md)
    otlp_endpoint: str = dataclasses.field(
        default="", metadata={"help": "OTLP gRPC endpoint for traces (host:4317); else OTEL_EXPORTER_OTLP_*"}
    )
    relay_timeout: float = dataclasses.field(
        default=30.0, metadata={"help": "seconds a relayed Send may take when the caller sets no deadline"}
    )
    relay_max_channels: int = dataclasses.field(
        default=1_024, metadata={"help": "open channels to instances' Inbox endpoints (LRU)"}
    )
    relay_max_payload_bytes: int = dataclasses.field(
        default=256 * 1024, metadata={"help": "largest envelope payload of Send and Publish"}
    )
    event_retention_count: int = dataclasses.field(
        default=100_000, metadata={"help": "events kept in the log; older ones are deleted"}
    )
    event_retention_seconds: float = dataclasses.field(
        default=7 * 86_400.0, metadata={"help": "age after which events are deleted"}
    )
    event_subscriber_buffer: int = dataclasses.field(
        default=1_024, metadata={"help": "events queued per subscriber before it is cut"}
    )
    max_subscribers: int = dataclasses.field(default=10_000, metadata={"help": "open Subscribe streams"})
    max_subscribers_per_caller: int = dataclasses.field(
        default=5_000, metadata={"help": "open Subscribe streams per caller (token subject)"}
    )
    # Cluster mode (docs/cluster.md)
    store: str = dataclasses.field(
        default="sqlite", metadata={"help": "sqlite (one process) or etcd (cluster mode: several replicas)"}
    )
    etcd_endpoints: str = dataclasses.field(
        default="", metadata={"help": "comma-separated etcd client endpoints host:port (store=etcd)"}
    )
    etcd_prefix: str = dataclasses.field(
        default="/registry", metadata={"help": "key prefix in etcd, so several registries share one etcd"}
    )
    etcd_user: str = dataclasses.field(default="", metadata={"help": "etcd user (with etcd auth enabled)"})
    etcd_password: str = dataclasses.field(
        default="", repr=False, metadata={"help": "etcd password; prefer the environment to the flag"}
    )
    etcd_ca_file: str = dataclasses.field(default="", metadata={"help": "CA bundle: talk TLS to etcd"})
    etcd_cert_file: str = dataclasses.field(default="", metadata={"help": "client certificate for etcd TLS"})
    etcd_key_file: str = dataclasses.field(default="", metadata={"help": "client key for etcd TLS"})
    etcd_lease_ttl: int = dataclasses.field(
        default=5, metadata={"help": "seconds a replica cut off from etcd keeps its instances"}
    )
    etcd_timeout: float = dataclasses.field(
        default=3.0, metadata={"help": "seconds an etcd call may take before a write answers UNAVAILABLE"}
    )
    replica_id: str = dataclasses.field(
        default="", metadata={"help": "this replica's name in cluster mode; default host-pid"}
    )
    # Operator console (docs/console.md)
    console_address: str = dataclasses.field(
        default="", metadata={"help": "HOST:PORT of the web console (e.g. 127.0.0.1:8080); empty: off"}
    )
    console_trace_url: str = dataclasses.field(
        default="",
        metadata={"help": "trace link template with {trace_id}, e.g. http://jaeger:16686/trace/{trace_id}"},
    )
    # Metrics (docs/operations.md#metrics)
    metrics_port: int = dataclasses.field(
        default=-1, metadata={"help": "Prometheus scrape port; -1 off (default), 0 picks a free one"}
    )
    metrics_host: str = dataclasses.field(
        default="127.0.0.1", metadata={"help": "address of the scrape endpoint (loopback by default)"}
    )
    otlp_metrics_endpoint: str = dataclasses.field(
        default="", metadata={"help": "OTLP gRPC endpoint to push metrics to (host:4317); off when empty"}
    )
    otlp_metrics_interval: float = dataclasses.field(
        default=15.0, metadata={"help": "seconds between OTLP metric pushes, 1-3600"}
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
        return is_loopback(self.host)

    @property
    def console_host_port(self) -> tuple[str, int] | None:
        """Where the console listens, or None when it is off."""
        return split_host_port(self.console_address) if self.console_address else None


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host_port(address: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` as (host, port); ConfigError when malformed."""
    host, sep, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{address!r} is not HOST:PORT (port 0-65535; 0 picks a free one)")
    return host, int(port)


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
    _require(-1 <= config.metrics_port <= 65535, "metrics_port must be -1 (off) or 0-65535")
    _require(1 <= config.otlp_metrics_interval <= 3600, "otlp_metrics_interval must be 1-3600 seconds")
    _require(config.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "log_level is unknown")
    _require(config.log_format in {"text", "json"}, "log_format must be text or json")
    _require(config.grace_seconds >= 0, "grace_seconds must be >= 0")
    _require(4096 <= config.max_message_bytes <= 64 << 20, "max_message_bytes must be 4 KiB-64 MiB")
    _require(config.watch_history >= 1, "watch_history must be >= 1")
    _require(config.watch_buffer >= 1, "watch_buffer must be >= 1")
    _require(config.max_watchers >= 1, "max_watchers must be >= 1")
    _require(
        min(config.max_watchers_per_caller, config.max_subscribers_per_caller) >= 1
        and config.watch_buffer_bytes >= 1024,
        "max_watchers_per_caller and max_subscribers_per_caller must be >= 1, watch_buffer_bytes >= 1024",
    )
    _require(config.max_instances >= 1, "max_instances must be >= 1")
    _require(0 < config.persist_interval <= 10, "persist_interval must be in (0, 10]")
    _require(0 <= config.reap_seconds <= 86_400 * 30, "reap_seconds must be 0-2592000")
    _require(0 <= config.startup_grace_seconds <= 3600, "startup_grace_seconds must be 0-3600")
    _require(0 < config.self_preservation_threshold <= 1, "self_preservation_threshold must be in (0, 1]")
    _require(
        0 < config.self_preservation_window_seconds <= 3600,
        "self_preservation_window_seconds must be in (0, 3600]",
    )
    _require(config.max_heartbeat_streams >= 1, "max_heartbeat_streams must be >= 1")
    _require(config.max_heartbeat_streams_per_caller >= 1, "max_heartbeat_streams_per_caller must be >= 1")
    _require(0 < config.heartbeat_bind_timeout <= 3600, "heartbeat_bind_timeout must be in (0, 3600]")
    _require(0 <= config.stream_break_debounce_ms <= 10_000, "stream_break_debounce_ms must be 0-10000")
    _require(config.auth_mode in {"jwt", "off"}, "auth_mode must be jwt or off")
    _require(
        config.auth_mode != "off" or config.binds_loopback or config.insecure,
        f"refusing to serve {config.host} with auth_mode=off: anyone on the network could register as "
        "any service; bind a loopback address, enable auth, or pass --insecure",
    )
    _require(
        bool(config.tls_cert_file) == bool(config.tls_key_file), "tls_cert_file and tls_key_file go together"
    )
    _require(
        not config.tls_client_ca_file or bool(config.tls_cert_file),
        "tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file",
    )
    _require(0 < config.tls_reload_seconds <= 3600, "tls_reload_seconds must be in (0, 3600]")
    _require(
        config.auth_mode != "jwt" or bool(config.tls_cert_file) or config.binds_loopback or config.insecure,
        f"refusing to serve JWT auth in plaintext on {config.host}: tokens would cross the network "
        "readable by anyone on the path; give --tls-cert-file and --tls-key-file, bind a loopback "
        "address, or pass --insecure",
    )
    _require(
        not config.jwt_secret or len(config.jwt_secret.encode()) >= 32,
        "jwt_secret must be at least 32 bytes",
    )
    _require(0 < config.jwks_reload_seconds <= 3600, "jwks_reload_seconds must be in (0, 3600]")
    _require(bool(config.jwt_audience), "jwt_audience must not be empty")
    _require(0 <= config.jwt_leeway_seconds <= 300, "jwt_leeway_seconds must be 0-300")
    _require(
        set(split_list(config.auth_public_methods)) <= {"health", "reflection"},
        "auth_public_methods takes health and/or reflection",
    )
    _require(0 < config.relay_timeout <= 3600, "relay_timeout must be in (0, 3600]")
    _require(config.relay_max_channels >= 1, "relay_max_channels must be >= 1")
    _require(
        0 < config.relay_max_payload_bytes <= config.max_message_bytes - 64 * 1024,
        "relay_max_payload_bytes must be positive and leave 64 KiB of max_message_bytes for the envelope",
    )
    _require(config.event_retention_count >= 1, "event_retention_count must be >= 1")
    _require(config.event_retention_seconds > 0, "event_retention_seconds must be > 0")
    _require(config.event_subscriber_buffer >= 1, "event_subscriber_buffer must be >= 1")
    _require(config.max_subscribers >= 1, "max_subscribers must be >= 1")
    _require(config.store in {"sqlite", "etcd"}, "store must be sqlite or etcd")
    _require(
        config.store != "etcd"
        or config.auth_mode == "off"
        or bool(config.jwt_secret or config.jwt_secret_file or config.jwks_file),
        "store=etcd: every replica must verify the same tokens, so none creates its own secret; "
        "give each the same jwt_secret_file (or jwt_secret, or jwks_file)",
    )
    _require(
        config.store != "etcd" or bool(split_list(config.etcd_endpoints)),
        "store=etcd needs etcd_endpoints (host:port, comma-separated)",
    )
    _require(config.etcd_prefix.startswith("/") and len(config.etcd_prefix) > 1, "etcd_prefix must be /name")
    _require(2 <= config.etcd_lease_ttl <= 300, "etcd_lease_ttl must be 2-300")
    _require(0 < config.etcd_timeout <= 60, "etcd_timeout must be in (0, 60]")
    _require(
        not (config.etcd_cert_file or config.etcd_key_file) or bool(config.etcd_ca_file),
        "etcd_cert_file and etcd_key_file need etcd_ca_file",
    )
    console = config.console_host_port
    _require(
        console is None or config.auth_mode != "off" or is_loopback(console[0]) or config.insecure,
        "refusing to serve the console on a non-loopback address with auth_mode=off; bind a loopback "
        "address, enable auth, or pass --insecure",
    )
    _require(
        console is None or is_loopback(console[0]) or bool(config.tls_cert_file) or config.insecure,
        "refusing to serve the console in plaintext on a non-loopback address: its tokens would "
        "cross the network in clear; set tls_cert_file and tls_key_file, bind a loopback address, "
        "or pass --insecure",
    )
    _require(
        not config.console_trace_url or "{trace_id}" in config.console_trace_url,
        "console_trace_url must contain {trace_id}",
    )


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def config_for_tests(overrides: Mapping[str, Any] | None = None) -> Config:
    """A Config on an ephemeral loopback port; used by the test suite and benchmarks.

    Auth is off unless a test turns it on: most tests exercise other behaviour, and the auth tests
    pass auth_mode="jwt" and their keys explicitly."""
    config = dataclasses.replace(Config(port=0, auth_mode="off"), **dict(overrides or {}))
    validate(config)
    return config
