"""The catalog's in-memory index: every instance by service, kept ready for each kind of read.

Per service: the instances by id, their ids sorted (keyset paging and ordered snapshots without
sorting), the lookup order (`registry.core.lookup.order`, rebuilt only when a registration
changes, not on a status change) and the count of serving instances. Across services: the
sorted service names and the total count. Writes are O(log n) per change; nothing here touches
the store, revisions or watchers, which `registry.core.catalog` coordinates.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping
from types import MappingProxyType

from registry.core.lookup import Indexed, order
from registry.core.model import SERVING_STATUSES, HealthStatus, Instance, InstanceKey

_EMPTY: Mapping[str, Instance] = MappingProxyType({})


class ServiceIndex:
    """One service's instances and the indexes over them, kept up to date on every change."""

    __slots__ = ("_ordered", "ids", "indexed", "instances", "serving")

    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.indexed: dict[str, Indexed] = {}
        self.ids: list[str] = []
        """Instance ids, sorted: keyset pagination and ordered snapshots without sorting."""
        self.serving = 0
        self._ordered: list[Indexed] | None = None

    def put(self, instance: Instance) -> None:
        instance_id = instance.instance_id
        previous = self.instances.get(instance_id)
        if previous is None:
            insort(self.ids, instance_id)
        else:
            self.serving -= previous.status in SERVING_STATUSES
        if previous is not None and previous.registration is instance.registration:
            self.indexed[instance_id].instance = instance  # status only: the order still holds
        else:
            self.indexed[instance_id] = Indexed(instance)
            self._ordered = None
        self.instances[instance_id] = instance
        self.serving += instance.status in SERVING_STATUSES

    def remove(self, instance_id: str) -> None:
        del self.ids[bisect_left(self.ids, instance_id)]
        del self.indexed[instance_id]
        self.serving -= self.instances.pop(instance_id).status in SERVING_STATUSES
        self._ordered = None

    def ordered(self) -> list[Indexed]:
        if self._ordered is None:
            self._ordered = order(list(self.indexed.values()))
        return self._ordered


class CatalogIndex:
    """Every service's `ServiceIndex`, the sorted service names and the instance count."""

    def __init__(self) -> None:
        self.services: dict[str, ServiceIndex] = {}
        self.names: list[str] = []
        """Service names, sorted."""
        self.count = 0

    def find(self, key: InstanceKey) -> Instance | None:
        service = self.services.get(key[0])
        return None if service is None else service.instances.get(key[1])

    def instances_of(self, service_name: str) -> Mapping[str, Instance]:
        """A read-only live view of one service's instances by id, O(1)."""
        service = self.services.get(service_name)
        return _EMPTY if service is None else MappingProxyType(service.instances)

    def snapshot(self, service_names: frozenset[str] = frozenset()) -> list[Instance]:
        """Current instances of these services (all when empty), in (service, id) order."""
        names = sorted(service_names) if service_names else self.names
        found: list[Instance] = []
        for name in names:
            service = self.services.get(name)
            if service is not None:
                found.extend(service.instances[i] for i in service.ids)
        return found

    def status_counts(self) -> dict[str, dict[HealthStatus, int]]:
        """Instances per service and status, O(instances)."""
        counts: dict[str, dict[HealthStatus, int]] = {}
        for name, service in list(self.services.items()):
            per_status = counts[name] = {}
            for instance in list(service.instances.values()):
                per_status[instance.status] = per_status.get(instance.status, 0) + 1
        return counts

    def put(self, instance: Instance) -> None:
        name = instance.service_name
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = ServiceIndex()
            insort(self.names, name)
        count = len(service.instances)
        service.put(instance)
        self.count += len(service.instances) - count

    def remove(self, key: InstanceKey) -> None:
        service = self.services[key[0]]
        service.remove(key[1])
        self.count -= 1
        if not service.instances:
            del self.services[key[0]]
            del self.names[bisect_left(self.names, key[0])]
