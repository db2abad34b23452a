"""Domain types shared by the core, the store backends and the servicers.

They are immutable: a change makes a new value, so a snapshot handed to a watcher or a store
batch can never be altered under its feet. Enum values equal the proto enum numbers, which keeps
conversion in `registry.api` a cast rather than a table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

InstanceKey = tuple[str, str]
"""(service_name, instance_id): the identity of an instance."""


class HealthStatus(enum.IntEnum):
    """Liveness class of an instance (proto `HealthStatus`)."""

    UNKNOWN = 1
    HEALTHY = 2
    DEGRADED = 3
    CRITICAL = 4
    DEAD = 5
    DRAINING = 6


SERVING_STATUSES = frozenset({HealthStatus.UNKNOWN, HealthStatus.HEALTHY, HealthStatus.DEGRADED})
"""Statuses that lookups return by default. UNKNOWN is included so that a registry restart, which
makes every instance UNKNOWN until its stream returns, never empties discovery."""


class EndpointProtocol(enum.IntEnum):
    """Wire protocol at an endpoint (proto `EndpointProtocol`)."""

    GRPC = 1
    GRPCS = 2
    HTTP = 3
    HTTPS = 4
    TCP = 5
    UDP = 6


class DependencyKind(enum.IntEnum):
    """How much an instance needs a dependency (proto `DependencyKind`)."""

    HARD = 1
    SOFT = 2
    OPTIONAL = 3


class ChangeType(enum.IntEnum):
    """Kind of a catalog change (proto `WatchEventType`)."""

    ADDED = 1
    UPDATED = 2
    REMOVED = 3
    STATUS_CHANGED = 4


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    host: str
    port: int
    protocol: EndpointProtocol


@dataclass(frozen=True, slots=True)
class Dependency:
    service_name: str
    kind: DependencyKind
    version_constraint: str = ""
    """Versions of the dependency the instance works with (registry.core.versions syntax); "" any."""


@dataclass(frozen=True, slots=True)
class HeartbeatPolicy:
    """Liveness contract of one instance; durations in seconds."""

    interval: float = 10.0
    timeout: float = 30.0
    max_failures: int = 3


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Registration:
    """What a caller declares about an instance. Equal registrations mean an idempotent re-register."""

    service_name: str
    instance_id: str
    endpoints: tuple[Endpoint, ...]
    version: str = ""
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    zone: str = ""
    weight: int = 100
    dependencies: tuple[Dependency, ...] = ()
    heartbeat_policy: HeartbeatPolicy = field(default_factory=HeartbeatPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen(self.metadata))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registration):
            return NotImplemented
        return (
            self.key == other.key
            and self.endpoints == other.endpoints
            and self.version == other.version
            and self.tags == other.tags
            and dict(self.metadata) == dict(other.metadata)
            and self.zone == other.zone
            and self.weight == other.weight
            and self.dependencies == other.dependencies
            and self.heartbeat_policy == other.heartbeat_policy
        )

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def key(self) -> InstanceKey:
        return (self.service_name, self.instance_id)


@dataclass(frozen=True, slots=True)
class Instance:
    """A registration plus the state the registry owns. Times are Unix seconds."""

    registration: Registration
    status: HealthStatus
    create_time: float
    update_time: float
    status_time: float
    create_revision: int
    mod_revision: int

    @property
    def key(self) -> InstanceKey:
        return self.registration.key

    @property
    def service_name(self) -> str:
        return self.registration.service_name

    @property
    def instance_id(self) -> str:
        return self.registration.instance_id


@dataclass(frozen=True, slots=True)
class Change:
    """One catalog change at one revision; what watchers receive."""

    type: ChangeType
    instance: Instance
    revision: int
    previous_status: HealthStatus | None = None
