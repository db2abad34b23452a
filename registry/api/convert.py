"""Proto <-> domain conversion for the registry API.

Enum values are shared by the domain and the proto (see `registry.core.model`), so conversion
is a table lookup; a number the domain does not know, or UNSPECIFIED, is refused with
InvalidArgument naming the field, so that a client built from newer protos gets a clear answer.

Reads are hot (Lookup especially), and building a proto Instance field by field costs about as
much as the rest of a Lookup. `InstanceEncoder` therefore keeps each live instance serialized
once, as a length-delimited field 1, which is the `instance`/`instances` field of every response
that carries instances: a response is then parsed from the concatenated bytes in one C call.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

from google.protobuf import duration_pb2, timestamp_pb2

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.core.errors import InvalidArgument
from registry.core.lookup import LookupQuery
from registry.core.model import (
    Change,
    ChangeType,
    Dependency,
    DependencyKind,
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    HeartbeatPolicy,
    Instance,
    InstanceKey,
    Registration,
)
from registry.wire.varint import varint

E = TypeVar("E", bound=enum.IntEnum)

_PROTOCOLS = {int(member): member for member in EndpointProtocol}
_KINDS = {int(member): member for member in DependencyKind}
_STATUSES = {int(member): member for member in HealthStatus}
_NANOS = 1_000_000_000
_DEFAULT_POLICY = HeartbeatPolicy()
_FIELD_1 = b"\x0a"  # tag of field 1, wire type 2 (length-delimited)
_FIELD_2_VARINT = b"\x10"  # tag of field 2, wire type 0 (varint)
_CREATED = _FIELD_2_VARINT + b"\x01"  # RegisterResponse.created = true


def _member(table: Mapping[int, E], value: int, field: str, enum_name: str) -> E:
    member = table.get(value)
    if member is None:
        if value == 0:
            raise InvalidArgument(field, f"required: {enum_name}_UNSPECIFIED is not allowed")
        raise InvalidArgument(field, f"{value} is not a known {enum_name} value")
    return member


# ------------------------------------------------------------------- proto -> domain


def seconds(message: duration_pb2.Duration | timestamp_pb2.Timestamp) -> float:
    """A Duration, or a Timestamp as Unix time, in seconds."""
    return message.seconds + message.nanos / _NANOS


def _heartbeat_policy(message: ipb.Instance) -> HeartbeatPolicy:
    """The policy with unset fields taking the server defaults."""
    if not message.HasField("heartbeat_policy"):
        return _DEFAULT_POLICY
    policy = message.heartbeat_policy
    return HeartbeatPolicy(
        interval=seconds(policy.interval) if policy.HasField("interval") else _DEFAULT_POLICY.interval,
        timeout=seconds(policy.timeout) if policy.HasField("timeout") else _DEFAULT_POLICY.timeout,
        max_failures=policy.max_failures or _DEFAULT_POLICY.max_failures,
    )


def registration(message: ipb.Instance, field: str = "instance") -> Registration:
    """The registration a Register request declares. Output-only fields are ignored; the
    catalog validates the rest."""
    return Registration(
        service_name=message.service_name,
        instance_id=message.instance_id,
        endpoints=tuple(
            Endpoint(
                e.name,
                e.host,
                e.port,
                _member(_PROTOCOLS, e.protocol, f"{field}.endpoints[{i}].protocol", "ENDPOINT_PROTOCOL"),
            )
            for i, e in enumerate(message.endpoints)
        ),
        version=message.version,
        tags=tuple(message.tags),
        metadata=dict(message.metadata),
        zone=message.zone,
        weight=message.weight,
        dependencies=tuple(
            Dependency(
                d.service_name,
                _member(_KINDS, d.kind, f"{field}.dependencies[{i}].kind", "DEPENDENCY_KIND"),
                d.version_constraint,
            )
            for i, d in enumerate(message.dependencies)
        ),
        heartbeat_policy=_heartbeat_policy(message),
    )


def lookup_query(request: pb.LookupRequest) -> LookupQuery:
    statuses = request.statuses
    return LookupQuery(
        service_name=request.service_name,
        tags=tuple(request.tags),
        version_constraint=request.version_constraint,
        metadata=dict(request.metadata),
        preferred_zone=request.preferred_zone,
        statuses=frozenset(
            _member(_STATUSES, s, f"statuses[{i}]", "HEALTH_STATUS") for i, s in enumerate(statuses)
        )
        if statuses
        else frozenset(),
        limit=request.limit,
    )


# ------------------------------------------------------------------- domain -> proto


def timestamp_message(seconds: float) -> timestamp_pb2.Timestamp:
    nanos = round(seconds * _NANOS)
    return timestamp_pb2.Timestamp(seconds=nanos // _NANOS, nanos=nanos % _NANOS)


def timestamp_now() -> timestamp_pb2.Timestamp:
    """The current time to the nanosecond (no float rounding)."""
    whole, nanos = divmod(time.time_ns(), _NANOS)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=nanos)


def duration_message(seconds: float) -> duration_pb2.Duration:
    nanos = round(seconds * _NANOS)
    return duration_pb2.Duration(seconds=nanos // _NANOS, nanos=nanos % _NANOS)


def policy_message(policy: HeartbeatPolicy) -> ipb.HeartbeatPolicy:
    return ipb.HeartbeatPolicy(
        interval=duration_message(policy.interval),
        timeout=duration_message(policy.timeout),
        max_failures=policy.max_failures,
    )


def instance_message(instance: Instance) -> ipb.Instance:
    registration = instance.registration
    return ipb.Instance(
        name=f"services/{registration.service_name}/instances/{registration.instance_id}",
        service_name=registration.service_name,
        instance_id=registration.instance_id,
        endpoints=[
            ipb.Endpoint(
                name=e.name,
                host=e.host,
                port=e.port,
                protocol=cast(ipb.EndpointProtocol.ValueType, e.protocol),
            )
            for e in registration.endpoints
        ],
        version=registration.version,
        tags=registration.tags,
        metadata=dict(registration.metadata),
        zone=registration.zone,
        weight=registration.weight,
        dependencies=[
            ipb.Dependency(
                service_name=d.service_name,
                kind=cast(ipb.DependencyKind.ValueType, d.kind),
                version_constraint=d.version_constraint,
            )
            for d in registration.dependencies
        ],
        heartbeat_policy=policy_message(registration.heartbeat_policy),
        status=cast(ipb.HealthStatus.ValueType, instance.status),
        create_time=timestamp_message(instance.create_time),
        update_time=timestamp_message(instance.update_time),
        status_time=timestamp_message(instance.status_time),
        create_revision=instance.create_revision,
        mod_revision=instance.mod_revision,
    )


class InstanceEncoder:
    """Each live instance serialized once, as field 1 of a response.

    Entries are keyed by instance key and valid while they hold the very Instance object the
    catalog holds (instances are immutable: any change makes a new one). Only instances read
    synchronously from the catalog are added, so every entry belongs to a live instance, and
    `forget` (a catalog listener) drops removed ones: the cache never outgrows the catalog.
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[InstanceKey, tuple[Instance, bytes, int]] = {}

    def field_1(self, instance: Instance, live: bool = True) -> bytes:
        """`instance` as a length-delimited field 1: tag, length, message. Kept for the next
        caller only when `live` (the catalog holds this very instance now)."""
        cached = self._cache.get(instance.key)
        if cached is not None and cached[0] is instance:
            return cached[1]
        body = instance_message(instance).SerializeToString()
        header = _FIELD_1 + varint(len(body))
        framed = header + body
        if live:
            self._cache[instance.key] = (instance, framed, len(header))
        return framed

    def fill(self, target: ipb.Instance, instance: Instance) -> None:
        """Set `target` to `instance`, from the cache when it still holds this value. For
        instances that may no longer be live (watch events), so nothing is added."""
        cached = self._cache.get(instance.key)
        if cached is not None and cached[0] is instance:
            target.ParseFromString(cached[1][cached[2] :])
        else:
            target.CopyFrom(instance_message(instance))

    def forget(self, change: Change) -> None:
        if change.type is ChangeType.REMOVED:
            self._cache.pop(change.instance.key, None)

    def register_bytes(self, instance: Instance, created: bool, live: bool) -> bytes:
        """A serialized RegisterResponse, straight from the cached instance. `live`: see `field_1`
        (the answer may arrive after the instance changed or was removed)."""
        framed = self.field_1(instance, live)
        return framed + _CREATED if created else framed

    def get_response(self, instance: Instance) -> pb.GetInstanceResponse:
        return pb.GetInstanceResponse.FromString(self.field_1(instance))

    def lookup_bytes(self, instances: Iterable[Instance], revision: int) -> bytes:
        """A serialized LookupResponse, straight from the cached instances: grpc sends these
        bytes as they are (see `registry.wire.preencoded`)."""
        body = b"".join(map(self.field_1, instances))
        return body + _FIELD_2_VARINT + varint(revision) if revision else body

    def list_instances_response(
        self, instances: Iterable[Instance], next_page_token: str, revision: int
    ) -> pb.ListInstancesResponse:
        response = pb.ListInstancesResponse.FromString(b"".join(map(self.field_1, instances)))
        response.next_page_token = next_page_token
        response.revision = revision
        return response

    def watch_event(self, change: Change) -> pb.WatchEvent:
        event = pb.WatchEvent(
            type=cast(pb.WatchEventType.ValueType, change.type),
            revision=change.revision,
            previous_status=cast(ipb.HealthStatus.ValueType, change.previous_status or 0),
        )
        self.fill(event.instance, change.instance)
        return event

    def snapshot_event(self, instance: Instance) -> pb.WatchEvent:
        event = pb.WatchEvent(type=pb.WATCH_EVENT_TYPE_ADDED, revision=instance.mod_revision)
        self.fill(event.instance, instance)
        return event
