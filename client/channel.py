"""Channels the SDK opens: to the registry, and to the instances it discovers.

The registry channel matches the server's keepalive policy (registry/server.py): the client pings
an idle connection every 10 s, without calls too, which the server permits (it strikes pings closer
than 5 s). So a silently dead connection is noticed in ~15 s even when no beat is due, and the
server never answers our pings with GOAWAY `too_many_pings`.

Retries of idempotent calls are left to gRPC itself through the service config: up to 4 attempts on
UNAVAILABLE with exponential backoff, where gRPC draws each wait uniformly from [0, current
backoff] (full jitter, gRFC A6), and a retry throttle so a struggling registry is not hammered by
its own clients. Calls that are not idempotent are never retried by the SDK.

gRPC's own reconnect backoff (1 s initial, up to 120 s by default) is tied to the SDK's backoff
settings; otherwise a channel could sit out a registry restart for two minutes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from client.config import ClientConfig
from client.errors import ConfigError

KEEPALIVE_TIME_MS = 10_000
"""Ping interval on an idle registry connection; the server permits pings every 5 s or slower."""
KEEPALIVE_TIMEOUT_MS = 5_000

IDEMPOTENT_METHODS: dict[str, tuple[str, ...]] = {
    "registry.v1.RegistryService": (
        "Register",  # idempotent by contract: same request, same instance
        "Deregister",  # a repeat answers NOT_FOUND, which the SDK treats as done
        "GetInstance",
        "ListServices",
        "ListInstances",
        "Lookup",
    ),
    "registry.v1.HeartbeatService": ("GetInstanceHealth", "ListInstanceHealth", "GetHealthSummary"),
    "registry.v1.RelayService": ("ListEvents",),
}
"""Methods gRPC may retry. Streams and Send/Publish are absent: resending them is not harmless."""

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config(balance: bool = False) -> str:
    """The gRPC service config (JSON) carrying the retry policy and the retry throttle; with
    `balance` (several registry replicas), round-robin over them: calls and new streams go to
    replicas that are up, so a dead replica's clients move by themselves."""
    names = [
        {"service": service, "method": method}
        for service, methods in IDEMPOTENT_METHODS.items()
        for method in methods
    ]
    config: dict[str, Any] = {
        "methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
    }
    if balance:
        config["loadBalancingConfig"] = [{"round_robin": {}}]
    return json.dumps(config)


def reconnect_options(config: ClientConfig) -> list[tuple[str, Any]]:
    """gRPC connection backoff bounded by the SDK's own backoff settings."""
    base_ms = max(1, int(config.backoff_base * 1000))
    cap_ms = max(base_ms, int(config.backoff_cap * 1000))
    return [
        ("grpc.initial_reconnect_backoff_ms", base_ms),
        ("grpc.min_reconnect_backoff_ms", base_ms),
        ("grpc.max_reconnect_backoff_ms", cap_ms),
    ]


def registry_channel_options(config: ClientConfig) -> list[tuple[str, Any]]:
    return [
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config(balance=config.several)),
        *reconnect_options(config),
    ]


def _read(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{setting}: cannot read {path}: {error.strerror}") from None


def registry_credentials(config: ClientConfig) -> grpc.ChannelCredentials:
    """TLS credentials for the registry: its CA (or the system roots), and this service's
    certificate when the registry requires mutual TLS. Read at channel open, so a renewed client
    certificate is picked up by the next client."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(config.tls_ca_file, "tls_ca_file"),
        private_key=_read(config.tls_key_file, "tls_key_file"),
        certificate_chain=_read(config.tls_cert_file, "tls_cert_file"),
    )


def open_channel(
    target: str,
    *,
    tls: bool,
    options: Sequence[tuple[str, Any]],
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    credentials: grpc.ChannelCredentials | None = None,
) -> grpc.aio.Channel:
    """A plaintext or TLS aio channel (system roots unless `credentials` say otherwise)."""
    if tls:
        return grpc.aio.secure_channel(
            target,
            credentials or grpc.ssl_channel_credentials(),
            options=list(options),
            interceptors=list(interceptors),
        )
    return grpc.aio.insecure_channel(target, options=list(options), interceptors=list(interceptors))


def open_registry_channel(
    config: ClientConfig,
    interceptors: Sequence[grpc.aio.ClientInterceptor],
    extra_options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """The registry channel; `extra_options` override the SDK's settings of the same name."""
    options = dict(registry_channel_options(config))
    if config.tls_server_name:
        options["grpc.ssl_target_name_override"] = config.tls_server_name
    options.update(extra_options)
    return open_channel(
        config.target,
        tls=config.tls,
        options=list(options.items()),
        interceptors=interceptors,
        credentials=registry_credentials(config) if config.tls else None,
    )
