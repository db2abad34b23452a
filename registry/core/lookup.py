"""Lookup: which instances of one service match a query, in which order.

The catalog keeps, per service, an `Indexed` record per instance with what the filters test
already computed (parsed version, tag and metadata sets) and a cached `ordered` list by (weight desc,
instance_id); a lookup is then one pass over that list. Ordering does not depend on status, so
status changes, the frequent kind of change, never invalidate it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from registry.core.model import SERVING_STATUSES, HealthStatus, Instance
from registry.core.versions import Constraint, Version, parse_constraint, parse_version, satisfies


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """A Lookup request in domain terms; empty fields do not filter."""

    service_name: str
    tags: tuple[str, ...] = ()
    """All of these tags must be present."""
    version_constraint: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Each key must be present with this value."""
    preferred_zone: str = ""
    statuses: frozenset[HealthStatus] = frozenset()
    """Empty means SERVING_STATUSES."""
    limit: int = 0
    """0 means every match."""


class Indexed:
    """One instance with its filter facts pre-computed at registration.

    `instance` is replaced in place when only the status changes, so lists holding this record
    stay valid."""

    __slots__ = ("instance", "metadata", "tags", "version")

    def __init__(self, instance: Instance) -> None:
        registration = instance.registration
        self.instance = instance
        self.tags = frozenset(registration.tags)
        self.metadata = frozenset(registration.metadata.items())
        self.version: Version | None = (
            parse_version(registration.version, "instance.version") if registration.version else None
        )


@functools.lru_cache(maxsize=1024)
def _constraint(text: str) -> Constraint:
    """Clients repeat the same few constraints; parse each once (errors are not cached)."""
    return parse_constraint(text, "version_constraint")


def order(entries: Sequence[Indexed]) -> list[Indexed]:
    """Weight descending, then instance_id: the order lookups answer in within a zone."""
    return sorted(entries, key=lambda e: (-e.instance.registration.weight, e.instance.instance_id))


def select(query: LookupQuery, ordered: Sequence[Indexed]) -> list[Instance]:
    """The matches among `ordered` (see `order`), preferred zone first, cut to `query.limit`."""
    statuses = query.statuses or SERVING_STATUSES
    tags = frozenset(query.tags)
    metadata = frozenset(query.metadata.items())
    constraint = _constraint(query.version_constraint) if query.version_constraint else None
    verdicts: dict[Version, bool] = {}  # a fleet runs few distinct versions
    zone = query.preferred_zone
    near: list[Instance] = []
    far: list[Instance] = []
    for entry in ordered:
        instance = entry.instance
        if instance.status not in statuses:
            continue
        if tags and not tags <= entry.tags:
            continue
        if metadata and not metadata <= entry.metadata:
            continue
        if constraint is not None:
            version = entry.version
            if version is None:
                continue
            verdict = verdicts.get(version)
            if verdict is None:
                verdict = verdicts[version] = satisfies(version, constraint)
            if not verdict:
                continue
        if zone and instance.registration.zone != zone:
            far.append(instance)
        else:
            near.append(instance)
    near.extend(far)
    return near[: query.limit] if query.limit else near
