"""The values liveness exchanges with the API layer: settings, directives, load reports, the ports
it needs (a stream to push to, the catalog), and the read-only health pictures it returns."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from registry.core import validation
from registry.core.errors import InvalidArgument, RegistryError
from registry.core.model import Change, HealthStatus, HeartbeatPolicy, Instance, InstanceKey


class GoodbyeReason(enum.IntEnum):
    """Why an instance ends its stream (proto `GoodbyeReason`)."""

    DRAIN = 1
    STOP = 2


class DirectiveType(enum.IntEnum):
    """What the registry asks of an instance (proto `DirectiveType`)."""

    SET_INTERVAL = 1
    REREGISTER = 2
    DRAIN = 3


@dataclass(frozen=True, slots=True)
class Directive:
    type: DirectiveType
    reason: str
    interval: float | None = None
    """For SET_INTERVAL: the new interval in seconds."""


@dataclass(frozen=True, slots=True)
class Load:
    """How busy an instance says it is."""

    in_flight: int
    cpu: float
    gauges: Mapping[str, float]


def make_load(in_flight: int, cpu: float, gauges: Mapping[str, float], field_name: str = "beat.load") -> Load:
    """A validated Load: cpu finite and >= 0, gauges as `validation.gauges` wants them."""
    if not (math.isfinite(cpu) and cpu >= 0):
        raise InvalidArgument(f"{field_name}.cpu", "must be a finite number >= 0")
    validation.gauges(gauges, f"{field_name}.gauges")
    return Load(in_flight, cpu, MappingProxyType(dict(gauges)))


@dataclass(frozen=True, slots=True)
class LivenessSettings:
    """Registry-wide liveness settings (the per-instance ones are in HeartbeatPolicy)."""

    reap_seconds: float = 300.0
    startup_grace_seconds: float = 30.0
    self_preservation_threshold: float = 0.5
    self_preservation_window_seconds: float = 15.0
    max_streams: int = 20_000
    max_streams_per_caller: int = 10_000
    """Heartbeat streams one caller (token subject) may hold open, bound or not."""
    bind_timeout: float = 10.0
    """Seconds a stream may stay open without binding before it is ended."""
    stream_break_debounce: float = 0.05


@dataclass(frozen=True, slots=True)
class InstanceHealth:
    """The liveness picture of one instance at one moment (proto `InstanceHealth`)."""

    service_name: str
    instance_id: str
    status: HealthStatus
    policy: HeartbeatPolicy
    stream_connected: bool
    heartbeat_count: int
    missed_heartbeats: int
    consecutive_failures: int
    average_latency_ms: float
    min_latency_ms: float
    max_latency_ms: float
    uptime_seconds: float
    uptime_percentage: float
    last_heartbeat_time: float | None
    """Unix seconds of the last beat; None before the first."""
    seconds_since_last: float
    load: Load | None


StatusCounts = Mapping[HealthStatus, int]


@dataclass(frozen=True, slots=True)
class HealthSummary:
    total: StatusCounts
    services: Mapping[str, StatusCounts]
    """Per service, in service name order."""
    self_preservation_active: bool
    startup_grace_active: bool
    open_streams: int


class StreamSink(Protocol):
    """What liveness needs from a bound heartbeat stream (implemented by the servicer)."""

    def push(self, directive: Directive) -> None:
        """Send `directive` on the stream soon; best effort."""

    def end(self, error: RegistryError, final: Directive | None = None) -> None:
        """End the stream with `error`'s status, sending `final` first when given."""


class CatalogView(Protocol):
    """The part of `registry.core.catalog.Catalog` liveness uses."""

    def snapshot(self, service_names: frozenset[str] = ...) -> list[Instance]: ...

    def instances_of(self, service_name: str) -> Mapping[str, Instance]: ...

    def set_status(self, key: InstanceKey, status: HealthStatus) -> Change | None: ...

    async def deregister(self, key: InstanceKey) -> int: ...

    def add_listener(self, listener: Callable[[Change], None]) -> None: ...
