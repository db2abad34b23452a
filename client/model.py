"""The SDK's own value types: what callers pass in and get back instead of raw protos.

Frozen dataclasses, converted from and to the wire in one place each (`from_proto` / `to_proto`),
so services never build `Instance` messages by hand. Enum values equal the proto numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from client._proto import heartbeat_pb, instance_pb


class HealthStatus(enum.IntEnum):
    """Liveness class of an instance (proto `HealthStatus`)."""

    UNKNOWN = instance_pb.HEALTH_STATUS_UNKNOWN
    HEALTHY = instance_pb.HEALTH_STATUS_HEALTHY
    DEGRADED = instance_pb.HEALTH_STATUS_DEGRADED
    CRITICAL = instance_pb.HEALTH_STATUS_CRITICAL
    DEAD = instance_pb.HEALTH_STATUS_DEAD
    DRAINING = instance_pb.HEALTH_STATUS_DRAINING


SERVING = frozenset({HealthStatus.UNKNOWN, HealthStatus.HEALTHY, HealthStatus.DEGRADED})
"""Statuses served by default, as the registry's Lookup serves them: UNKNOWN is in so a registry
restart (which makes everyone UNKNOWN until their stream returns) never empties discovery."""


class Protocol(enum.IntEnum):
    """Wire protocol at an endpoint (proto `EndpointProtocol`)."""

    GRPC = instance_pb.ENDPOINT_PROTOCOL_GRPC
    GRPCS = instance_pb.ENDPOINT_PROTOCOL_GRPCS
    HTTP = instance_pb.ENDPOINT_PROTOCOL_HTTP
    HTTPS = instance_pb.ENDPOINT_PROTOCOL_HTTPS
    TCP = instance_pb.ENDPOINT_PROTOCOL_TCP
    UDP = instance_pb.ENDPOINT_PROTOCOL_UDP


class DependencyKind(enum.IntEnum):
    HARD = instance_pb.DEPENDENCY_KIND_HARD
    SOFT = instance_pb.DEPENDENCY_KIND_SOFT
    OPTIONAL = instance_pb.DEPENDENCY_KIND_OPTIONAL


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where an instance serves. `Endpoint.parse("10.0.0.5:9000")` is a gRPC endpoint."""

    host: str
    port: int
    protocol: Protocol = Protocol.GRPC
    name: str = ""

    @classmethod
    def parse(cls, address: str, protocol: Protocol = Protocol.GRPC) -> Endpoint:
        host, _, port = address.rpartition(":")
        return cls(host.strip("[]"), int(port), protocol)

    @property
    def address(self) -> str:
        """`host:port` as a gRPC target (IPv6 literals bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_proto(self) -> instance_pb.Endpoint:
        return instance_pb.Endpoint(
            name=self.name,
            host=self.host,
            port=self.port,
            protocol=instance_pb.EndpointProtocol.ValueType(self.protocol),
        )


@dataclass(frozen=True, slots=True)
class Dependency:
    """A service this instance calls, and how much it needs it."""

    service_name: str
    kind: DependencyKind = DependencyKind.HARD


@dataclass(frozen=True, slots=True)
class Instance:
    """One registered instance as the registry last described it."""

    service_name: str
    instance_id: str
    endpoints: tuple[Endpoint, ...]
    status: HealthStatus = HealthStatus.UNKNOWN
    version: str = ""
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    zone: str = ""
    weight: int = 100
    revision: int = 0
    """Registry revision of the last change to this instance."""

    @classmethod
    def from_proto(cls, message: instance_pb.Instance) -> Instance:
        return cls(
            service_name=message.service_name,
            instance_id=message.instance_id,
            endpoints=tuple(
                Endpoint(e.host, e.port, Protocol(e.protocol), e.name) for e in message.endpoints
            ),
            status=HealthStatus(message.status or HealthStatus.UNKNOWN),
            version=message.version,
            tags=tuple(message.tags),
            metadata=MappingProxyType(dict(message.metadata)),
            zone=message.zone,
            weight=message.weight or 100,
            revision=message.mod_revision,
        )

    @property
    def grpc_endpoint(self) -> Endpoint | None:
        """The endpoint to open a gRPC channel to: one named `grpc` first, else the first gRPC one."""
        grpc_ones = [e for e in self.endpoints if e.protocol in (Protocol.GRPC, Protocol.GRPCS)]
        named = [e for e in grpc_ones if e.name == "grpc"]
        candidates = named or grpc_ones
        return candidates[0] if candidates else None

    @property
    def serving(self) -> bool:
        return self.status in SERVING


@dataclass(frozen=True, slots=True)
class Load:
    """How busy an instance is, reported with each beat; least-loaded pickers use `in_flight`.

    `gauges`: at most 16 custom figures (the registry's limit).
    """

    in_flight: int = 0
    cpu: float = 0.0
    gauges: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def to_proto(self) -> heartbeat_pb.Load:
        return heartbeat_pb.Load(in_flight=self.in_flight, cpu=self.cpu, gauges=dict(self.gauges))
