"""The storage interface the core depends on.

The in-memory catalog is the read path; the store is the durable truth that rebuilds it at start.
Registrations and removals are awaited (a registration acknowledged is a registration kept);
status transitions and revision bookkeeping arrive in batches off the hot path, and never
resurrect a removed instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from registry.core.model import Instance, InstanceKey


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything the store holds, as read at start."""

    instances: Sequence[Instance]
    revision_ceiling: int
    """Highest revision that may have been handed out before; the next run starts above it."""


class Store(Protocol):
    async def open(self) -> StoredState:
        """Open (creating or migrating as needed) and read the whole state."""
        ...

    async def put_instance(self, instance: Instance) -> None:
        """Insert or replace one instance durably (registration content and state)."""
        ...

    async def delete_instance(self, key: InstanceKey) -> None:
        """Remove one instance durably; removing an absent one is not an error."""
        ...

    async def save_batch(self, instances: Sequence[Instance], revision_ceiling: int) -> None:
        """Persist state changes (status, times, revisions) of existing instances and raise the
        revision ceiling, in one transaction. Instances no longer stored are skipped, never
        re-inserted."""
        ...

    async def close(self) -> None:
        """Flush and release the backend."""
        ...
