"""Every rule a request must meet, with the numbers from the one table in `registry.core.limits`.

The proto comments (protos/registry/v1/instance.proto, registry_service.proto) document these
rules for clients; this module enforces them, building its patterns from the table, and
tests/test_api_contract.py checks the comments and docs against the same table. A violation raises
InvalidArgument naming the full field path as the request spells it
(`instance.endpoints[1].port`), so a client can point at its mistake.

Registrations are also normalised here (endpoint names default to the protocol, duplicate tags
dropped, weight 0 becomes the default), so that two requests meaning the same thing compare
equal and an idempotent re-register really changes nothing.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence

from registry.core.errors import InvalidArgument
from registry.core.limits import LIMITS
from registry.core.lookup import LookupQuery
from registry.core.model import Dependency, Endpoint, HeartbeatPolicy, InstanceKey, Registration
from registry.core.versions import parse_constraint, parse_version


def pattern(regex: str) -> re.Pattern[str]:
    """A full-match pattern over ASCII (`\\d` never matches other scripts' digits)."""
    return re.compile(regex, re.ASCII)


def _inner(length: int) -> int:
    """Repetitions allowed between a first and a last character, for names of `length` at most."""
    return length - 2


SERVICE_NAME = pattern(rf"[a-z](?:[a-z0-9-]{{0,{_inner(LIMITS.service_name_length)}}}[a-z0-9])?")
_INSTANCE_ID = pattern(rf"[A-Za-z0-9](?:[A-Za-z0-9._-]{{0,{_inner(LIMITS.instance_id_length)}}}[A-Za-z0-9])?")
_ENDPOINT_NAME = pattern(rf"[a-z0-9-]{{1,{LIMITS.endpoint_name_length}}}")
# Host names as resolvers accept them: dot-separated labels of at most 63 characters (RFC 1123);
# `_` is allowed because container platforms hand out such names.
_HOST_LABEL = rf"[A-Za-z0-9_](?:[A-Za-z0-9_-]{{0,{_inner(LIMITS.host_label_length)}}}[A-Za-z0-9_])?"
_HOST_NAME = pattern(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")
_TAG = pattern(rf"[A-Za-z0-9_.:/-]{{1,{LIMITS.tag_length}}}")
METADATA_KEY = pattern(rf"[A-Za-z0-9_./-]{{1,{LIMITS.metadata_key_length}}}")
_ZONE = pattern(rf"[a-z0-9-]{{0,{LIMITS.zone_length}}}")
_ZONE_ID = pattern(rf"[A-Za-z0-9_.-]{{1,{LIMITS.zone_id_length}}}")


def _shown(text: str) -> str:
    """A caller's value quoted for an error message, cut short: errors travel in trailers, which
    are small, and a huge bad value must not turn INVALID_ARGUMENT into a transport error."""
    return repr(text if len(text) <= 64 else text[:64] + "...")


def service_name(name: str, field: str) -> None:
    if not name:
        raise InvalidArgument(field, "required")
    if SERVICE_NAME.fullmatch(name) is None:
        raise InvalidArgument(
            field,
            f"{_shown(name)} must be 1-{LIMITS.service_name_length} characters of a-z, 0-9 and '-', "
            "starting with a letter and not ending with '-'",
        )


def instance_id(value: str, field: str) -> None:
    if not value:
        raise InvalidArgument(field, "required")
    if _INSTANCE_ID.fullmatch(value) is None:
        raise InvalidArgument(
            field,
            f"{_shown(value)} must be 1-{LIMITS.instance_id_length} characters of letters, digits, '-', '_' "
            "and '.', starting and ending with a letter or digit",
        )


def instance_key(service: str, instance: str) -> InstanceKey:
    """A (service_name, instance_id) pair from a request's top-level fields of those names."""
    service_name(service, "service_name")
    instance_id(instance, "instance_id")
    return service, instance


def _host(host: str, field: str) -> None:
    if not host:
        raise InvalidArgument(field, "required")
    if len(host) > LIMITS.host_length:
        raise InvalidArgument(field, f"at most {LIMITS.host_length} characters", limit=LIMITS.host_length)
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if _HOST_NAME.fullmatch(host) is not None:
        return
    address, percent, zone = literal.partition("%")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidArgument(field, f"{_shown(host)} is neither a host name nor an IP address") from None
    # `ipaddress` takes anything after '%' as an IPv6 zone id (escape sequences and NUL included);
    # a zone is an interface name or index, so only those characters pass.
    if percent and (parsed.version != 6 or _ZONE_ID.fullmatch(zone) is None):
        raise InvalidArgument(
            field,
            f"{_shown(host)}: an IPv6 zone id is 1-{LIMITS.zone_id_length} characters of A-Z a-z 0-9 _ . -",
        )


def _endpoints(endpoints: Sequence[Endpoint], field: str) -> tuple[Endpoint, ...]:
    if not endpoints:
        raise InvalidArgument(field, "at least one endpoint is required")
    if len(endpoints) > LIMITS.endpoints:
        raise InvalidArgument(field, f"at most {LIMITS.endpoints} endpoints", limit=LIMITS.endpoints)
    seen: set[str] = set()
    normalised = []
    for index, endpoint in enumerate(endpoints):
        path = f"{field}[{index}]"
        name = endpoint.name or endpoint.protocol.name.lower()
        if _ENDPOINT_NAME.fullmatch(name) is None:
            raise InvalidArgument(
                f"{path}.name",
                f"{_shown(name)} must be 1-{LIMITS.endpoint_name_length} characters of a-z, 0-9, '-'",
            )
        if name in seen:
            raise InvalidArgument(f"{path}.name", f"duplicate endpoint name {_shown(name)}")
        seen.add(name)
        _host(endpoint.host, f"{path}.host")
        if not 1 <= endpoint.port <= 65535:
            raise InvalidArgument(f"{path}.port", f"{endpoint.port} is not a port (1-65535)")
        named = (
            endpoint
            if name == endpoint.name
            else Endpoint(name, endpoint.host, endpoint.port, endpoint.protocol)
        )
        normalised.append(named)
    return tuple(normalised)


def _tag_list(tags: Sequence[str], field: str, most: int) -> tuple[str, ...]:
    """Checked tags with duplicates dropped, order kept."""
    if len(tags) > most:
        raise InvalidArgument(field, f"at most {most} tags", limit=most)
    for index, tag in enumerate(tags):
        if _TAG.fullmatch(tag) is None:
            raise InvalidArgument(
                f"{field}[{index}]",
                f"{_shown(tag)} must be 1-{LIMITS.tag_length} characters of A-Z a-z 0-9 _ . : / -",
            )
    return tuple(dict.fromkeys(tags))


def _metadata(metadata: Mapping[str, str], field: str, most: int) -> None:
    if len(metadata) > most:
        raise InvalidArgument(field, f"at most {most} entries", limit=most)
    total = 0
    for key, value in metadata.items():
        if METADATA_KEY.fullmatch(key) is None:
            raise InvalidArgument(
                f"{field}[{_shown(key)}]",
                f"key must be 1-{LIMITS.metadata_key_length} characters of A-Z a-z 0-9 _ . / -",
            )
        size = len(value.encode())
        if size > LIMITS.metadata_value_bytes:
            raise InvalidArgument(
                f"{field}[{_shown(key)}]",
                f"value is {size} bytes; at most {LIMITS.metadata_value_bytes}",
                limit=LIMITS.metadata_value_bytes,
            )
        total += len(key) + size
    if total > LIMITS.metadata_total_bytes:
        raise InvalidArgument(
            field,
            f"{total} bytes in all; at most {LIMITS.metadata_total_bytes}",
            limit=LIMITS.metadata_total_bytes,
        )


def _zone(zone: str, field: str) -> None:
    if _ZONE.fullmatch(zone) is None:
        raise InvalidArgument(
            field,
            f"{_shown(zone)} must be at most {LIMITS.zone_length} characters of a-z, 0-9, '-'",
            limit=LIMITS.zone_length,
        )


def _dependencies(dependencies: Sequence[Dependency], field: str) -> None:
    if len(dependencies) > LIMITS.dependencies:
        raise InvalidArgument(field, f"at most {LIMITS.dependencies} dependencies", limit=LIMITS.dependencies)
    seen: set[str] = set()
    for index, dependency in enumerate(dependencies):
        path = f"{field}[{index}].service_name"
        service_name(dependency.service_name, path)
        if dependency.service_name in seen:
            raise InvalidArgument(path, f"{_shown(dependency.service_name)} is listed twice")
        seen.add(dependency.service_name)
        if dependency.version_constraint:
            constraint_path = f"{field}[{index}].version_constraint"
            if len(dependency.version_constraint) > LIMITS.version_constraint_length:
                raise InvalidArgument(
                    constraint_path,
                    f"at most {LIMITS.version_constraint_length} characters",
                    limit=LIMITS.version_constraint_length,
                )
            parse_constraint(dependency.version_constraint, constraint_path)


def _heartbeat_policy(policy: HeartbeatPolicy, field: str) -> None:
    low, high = LIMITS.heartbeat_interval_min, LIMITS.heartbeat_interval_max
    if not low <= policy.interval <= high:
        raise InvalidArgument(f"{field}.interval", f"{policy.interval}s is outside {low}s-{high:g}s")
    if not policy.interval <= policy.timeout <= LIMITS.heartbeat_timeout_max:
        raise InvalidArgument(
            f"{field}.timeout",
            f"{policy.timeout}s must be at least the interval ({policy.interval}s) "
            f"and at most {LIMITS.heartbeat_timeout_max:g}s",
        )
    if not 1 <= policy.max_failures <= LIMITS.heartbeat_max_failures:
        raise InvalidArgument(f"{field}.max_failures", f"must be 1-{LIMITS.heartbeat_max_failures}")


def registration(reg: Registration, field: str = "instance") -> Registration:
    """Check every rule and return the normalised registration (equal input, equal output)."""
    service_name(reg.service_name, f"{field}.service_name")
    instance_id(reg.instance_id, f"{field}.instance_id")
    endpoints = _endpoints(reg.endpoints, f"{field}.endpoints")
    if reg.version:
        if len(reg.version) > LIMITS.version_length:
            raise InvalidArgument(
                f"{field}.version", f"at most {LIMITS.version_length} characters", limit=LIMITS.version_length
            )
        parse_version(reg.version, f"{field}.version")
    tags = _tag_list(reg.tags, f"{field}.tags", LIMITS.tags)
    _metadata(reg.metadata, f"{field}.metadata", LIMITS.metadata_entries)
    _zone(reg.zone, f"{field}.zone")
    if reg.weight > LIMITS.weight_max or reg.weight < 0:
        raise InvalidArgument(f"{field}.weight", f"{reg.weight} is outside 0-{LIMITS.weight_max}")
    _dependencies(reg.dependencies, f"{field}.dependencies")
    _heartbeat_policy(reg.heartbeat_policy, f"{field}.heartbeat_policy")
    return Registration(
        service_name=reg.service_name,
        instance_id=reg.instance_id,
        endpoints=endpoints,
        version=reg.version,
        tags=tags,
        metadata=reg.metadata,
        zone=reg.zone,
        weight=reg.weight or LIMITS.weight_default,
        dependencies=reg.dependencies,
        heartbeat_policy=reg.heartbeat_policy,
    )


def lookup_query(query: LookupQuery) -> None:
    """Refuse a malformed Lookup rather than answer it with nothing."""
    service_name(query.service_name, "service_name")
    _tag_list(query.tags, "tags", LIMITS.lookup_tags)
    if query.metadata:
        _metadata(query.metadata, "metadata", LIMITS.lookup_metadata)
    if query.version_constraint and len(query.version_constraint) > LIMITS.version_constraint_length:
        raise InvalidArgument(
            "version_constraint",
            f"at most {LIMITS.version_constraint_length} characters",
            limit=LIMITS.version_constraint_length,
        )
    if query.preferred_zone:
        _zone(query.preferred_zone, "preferred_zone")
    if not 0 <= query.limit <= LIMITS.lookup_limit:
        raise InvalidArgument("limit", f"{query.limit} is outside 0-{LIMITS.lookup_limit}")


def gauges(values: Mapping[str, float], field: str) -> None:
    """Custom load gauges of a heartbeat: keyed like metadata, finite values."""
    if len(values) > LIMITS.load_gauges:
        raise InvalidArgument(field, f"at most {LIMITS.load_gauges} gauges", limit=LIMITS.load_gauges)
    for key, value in values.items():
        if METADATA_KEY.fullmatch(key) is None:
            raise InvalidArgument(
                field, f"keys must be 1-{LIMITS.metadata_key_length} characters of A-Z a-z 0-9 _ . / -"
            )
        if not math.isfinite(value):
            raise InvalidArgument(f"{field}[{key}]", "must be finite")


def drain_reason(reason: str, field: str = "reason") -> None:
    if len(reason) > LIMITS.drain_reason_length:
        raise InvalidArgument(
            field, f"at most {LIMITS.drain_reason_length} characters", limit=LIMITS.drain_reason_length
        )


def page_size(size: int, field: str = "page_size") -> int:
    """AIP-158: 0 means the default, above the maximum means the maximum, negative is refused."""
    if size < 0:
        raise InvalidArgument(field, f"{size} is negative")
    return min(size or LIMITS.page_size_default, LIMITS.page_size_max)


def watched_services(names: Sequence[str], field: str = "service_names") -> frozenset[str]:
    if len(names) > LIMITS.watch_services:
        raise InvalidArgument(field, f"at most {LIMITS.watch_services} services", limit=LIMITS.watch_services)
    for index, name in enumerate(names):
        service_name(name, f"{field}[{index}]")
    return frozenset(names)


def progress_interval(milliseconds: int, field: str = "progress_interval_ms") -> float:
    """Seconds between PROGRESS responses on an idle watch; 0 means the default."""
    milliseconds = milliseconds or LIMITS.progress_interval_default_ms
    low, high = LIMITS.progress_interval_min_ms, LIMITS.progress_interval_max_ms
    if not low <= milliseconds <= high:
        raise InvalidArgument(field, f"{milliseconds} ms is outside {low}-{high} ms")
    return milliseconds / 1000
