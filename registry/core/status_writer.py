"""Status changes persisted in batches, off the hot path.

The liveness engine changes statuses in memory at once (the catalog gives each a revision and
publishes it); this writer stores them every `persist_interval`, coalesced per instance (the
newest state wins), in one transaction that also carries the revision ceiling when a new block is
due. A failed batch is kept (newer changes win over it) and retried at the next flush. Nothing is
written per heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from registry.core.model import Instance, InstanceKey
from registry.core.ports import Store
from registry.core.revisions import Revisions

log = logging.getLogger(__name__)


class StatusWriter:
    """See the module docstring. Every flush runs under `lock`, the catalog's write lock."""

    def __init__(
        self,
        store: Store,
        revisions: Revisions,
        lock: asyncio.Lock,
        persist_interval: float,
        stopping: asyncio.Event,
    ) -> None:
        self._store = store
        self._revisions = revisions
        self._lock = lock
        self._persist_interval = persist_interval
        self._stopping = stopping
        self._pending: dict[InstanceKey, Instance] = {}
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="catalog-writer")

    async def stop(self) -> None:
        """Flush what is pending and end (the caller has set `stopping`)."""
        if self._task is not None:
            self._dirty.set()
            await self._task

    def queue(self, instance: Instance) -> None:
        """Store this state of the instance in the next batch."""
        self._pending[instance.key] = instance
        self._dirty.set()

    def forget(self, key: InstanceKey) -> None:
        """The instance was removed: never write its state again."""
        self._pending.pop(key, None)

    def wake(self) -> None:
        """Flush soon (a revision reservation is due)."""
        self._dirty.set()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self._dirty.wait()
            with suppress(TimeoutError):
                async with asyncio.timeout(self._persist_interval):
                    await self._stopping.wait()
            self._dirty.clear()
            try:
                async with self._lock:
                    await self.flush_locked()
            except Exception:
                log.exception("persisting status changes failed; retrying at the next flush")
                self._dirty.set()

    async def flush_locked(self) -> None:
        """Write pending state changes and, when due, the next revision reservation. The caller
        holds the lock."""
        batch, self._pending = self._pending, {}
        revisions = self._revisions
        ceiling = revisions.ceiling_to_write()
        if not batch and ceiling == revisions.durable_ceiling:
            return
        try:
            await self._store.save_batch(list(batch.values()), ceiling)
        except BaseException:
            for key, instance in batch.items():
                self._pending.setdefault(key, instance)  # newer changes win
            raise
        revisions.reserved(ceiling)
