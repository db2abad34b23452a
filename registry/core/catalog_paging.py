"""Paged reads of the catalog (AIP-158): ListServices and ListInstances over the index.

Keyset pagination: a page token is the last (service) or (service, instance id) returned,
signed to its scope by `registry.core.paging`, so a page resumes after it even when instances
came and went between pages, in O(log n) to find the start and O(page) to fill it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Generic, TypeVar

from registry.core import paging, validation
from registry.core.catalog_index import CatalogIndex
from registry.core.model import Instance

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    service_name: str
    instance_count: int
    serving_count: int
    """Instances in SERVING_STATUSES, the ones lookups return by default."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
    """Empty on the last page."""
    revision: int


def list_services(
    index: CatalogIndex, page_size: int, page_token: str, revision: int
) -> Page[ServiceSummary]:
    size = validation.page_size(page_size)
    after = paging.decode(page_token, "services", 1)
    names = index.names
    first = bisect_right(names, after[0]) if after else 0
    chosen = names[first : first + size]
    services = index.services
    items = [ServiceSummary(n, len(services[n].instances), services[n].serving) for n in chosen]
    more = first + size < len(names)
    token = paging.encode((chosen[-1],), "services") if more else ""
    return Page(items, token, revision)


def list_instances(
    index: CatalogIndex, service_name: str, page_size: int, page_token: str, revision: int
) -> Page[Instance]:
    """Instances of one service (or all when `service_name` is empty) by (service, id)."""
    size = validation.page_size(page_size)
    if service_name:
        validation.service_name(service_name, "service_name")
    scope = f"instances:{service_name}"
    after = paging.decode(page_token, scope, 2)
    items = list(islice(_instances_after(index, service_name, after), size + 1))
    token = ""
    if len(items) > size:
        del items[size:]
        token = paging.encode(items[-1].key, scope)
    return Page(items, token, revision)


def _instances_after(
    index: CatalogIndex, service_name: str, after: tuple[str, ...] | None
) -> Iterator[Instance]:
    names = index.names
    if service_name:
        names = [service_name] if service_name in index.services else []
    for position in range(bisect_left(names, after[0]) if after else 0, len(names)):
        service = index.services[names[position]]
        ids = service.ids
        first = bisect_right(ids, after[1]) if after and names[position] == after[0] else 0
        for at in range(first, len(ids)):
            yield service.instances[ids[at]]
