"""Builds the grpc.aio server: channel options, method wrappers, health, reflection.

Everything about the wire lives here and nowhere else: message size limits, keepalive policy,
which services reflection advertises (by descriptor name, never string literals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from registry.config import Config
from registry.wire import reflection as method_aware_reflection
from registry.wire.binding import ServiceBinding
from registry.wire.decode_guard import guard_decoding
from registry.wire.handlers import MethodWrapper
from registry.wire.health import HealthServicer
from registry.wire.wrapping import WrappingServer


def channel_options(config: Config) -> list[tuple[str, Any]]:
    """Server channel arguments.

    Keepalive: the server pings an idle connection every 10 s and drops it when no answer comes
    within 5 s, so a silent network loss (no FIN/RST) is noticed well inside the default 30 s
    heartbeat timeout even if beats stop first. Clients may ping every 5 s without data (the
    client SDK uses 10 s); faster pings are struck and eventually answered with GOAWAY.
    """
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.so_reuseport", 0),
    ]
    if config.max_concurrent_streams:
        options.append(("grpc.max_concurrent_streams", config.max_concurrent_streams))
    return options


def build_server(
    config: Config,
    services: Sequence[ServiceBinding],
    health_servicer: HealthServicer,
    wrappers: Sequence[MethodWrapper] = (),
) -> grpc.aio.Server:
    """A server with our services, the standard health service and reflection for all of them.

    `wrappers` (outermost first: tracing, auth, metrics) are applied to every method of every
    service, once, as it is added (`registry.wire.wrapping`); the decode guard goes innermost, so
    auth and tracing see every call first. No grpc.aio interceptor is installed: those would run
    for every call.
    """
    server = grpc.aio.server(options=channel_options(config))
    adding = WrappingServer(server, [guard_decoding, *reversed(wrappers)])
    for service in services:
        service.add(adding)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, adding)
    names = [
        *(s.full_name for s in services),
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    ]
    method_aware_reflection.enable_server_reflection(names, adding)
    return server
