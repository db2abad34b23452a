"""The catalog of cluster mode: the same in-memory catalog, fed by the replicated store's changes.

Several replicas write one store (etcd), so a replica cannot allocate revisions or apply its own
writes to memory directly: another replica may have written in between. Instead every change,
this replica's own included, reaches memory through one path, `ReplicatedStore.changes`, in the
store's revision order. So every replica holds the same catalog at the same revision, watchers can
resume on any replica with a revision another one gave them, and Lookup, List and Watch stay
memory reads exactly as in single-node mode.

- A registration or removal is a guarded write; the call returns once this replica has applied
  the write's revision, so the caller reads its own write on this replica.
- A status change (liveness) is queued and written in batches every `persist_interval`; memory
  and watchers see it when the store's change comes back (a few milliseconds later).
- At start the stored statuses are kept (other replicas are still judging those instances); the
  startup grace of a restarted cluster is liveness's business, as in single-node mode.
- When the store is unreachable, reads keep serving the last catalog this replica saw, and writes
  fail with UNAVAILABLE (reason STORE_UNAVAILABLE); a replica that lost its lease (`fenced`)
  refuses them at once (REPLICA_FENCED).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TypeVar, cast

from registry.core import validation
from registry.core.catalog import Catalog, _registered
from registry.core.errors import Reason, Unavailable, instance_not_found, limit_reached
from registry.core.model import Change, ChangeType, HealthStatus, Instance, InstanceKey, Registration
from registry.core.ownership import fenced_error
from registry.core.ports import ReplicatedStore, Store, StoredChange
from registry.core.watch import Watcher

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_ATTEMPTS = 20
"""Guarded registration writes tried before giving up on a hot instance."""
APPLY_TIMEOUT = 10.0
"""Seconds a write waits for its own change to come back through the store's change feed."""


class ReplicatedCatalog(Catalog):
    """See the module docstring."""

    def __init__(
        self,
        store: ReplicatedStore,
        *,
        history_limit: int,
        watcher_buffer: int,
        max_watchers: int,
        max_instances: int,
        persist_interval: float,
        max_watchers_per_caller: int | None = None,
        watcher_buffer_bytes: int = 4 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
        fenced: Callable[[], bool] = lambda: False,
    ) -> None:
        # The base class's store paths (hi-lo revisions, batch saves) are all overridden here.
        super().__init__(
            cast(Store, store),
            history_limit=history_limit,
            watcher_buffer=watcher_buffer,
            max_watchers=max_watchers,
            max_watchers_per_caller=max_watchers_per_caller,
            watcher_buffer_bytes=watcher_buffer_bytes,
            max_instances=max_instances,
            persist_interval=persist_interval,
            clock=clock,
        )
        self._replicated = store
        self._fenced = fenced
        self._statuses: dict[InstanceKey, tuple[HealthStatus, float]] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._follower: asyncio.Task[None] | None = None
        self._status_writer: asyncio.Task[None] | None = None
        self._status_dirty = asyncio.Event()

    # ----------------------------------------------------------------- life cycle

    async def start(self) -> list[Instance]:
        try:
            state = await self._replicated.open()
        except Exception as error:
            raise Unavailable(
                f"the cluster store is unreachable: {error}", reason=Reason.STORE_UNAVAILABLE
            ) from error
        for stored in state.instances:
            self._put(stored)
        self._revision = state.revision_ceiling
        self._hub.open(self._revision)
        self._follower = asyncio.create_task(self._follow(), name="catalog-follower")
        self._status_writer = asyncio.create_task(self._write_statuses(), name="catalog-status-writer")
        log.info("catalog loaded", extra={"instances": self._count, "revision": self._revision})
        return list(state.instances)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.end_watches()
        if self._status_writer is not None:
            self._stopping.set()
            self._status_dirty.set()
            await self._status_writer
        if self._follower is not None:
            self._follower.cancel()
            with suppress(asyncio.CancelledError):
                await self._follower
        for _, waiter in self._waiters:
            waiter.cancel()
        await self._replicated.close()

    # ----------------------------------------------------------------- reads

    @property
    def possibly_stale(self) -> bool:
        """True while this replica is fenced: it has not reached etcd for a lease TTL, so the
        catalog it serves may miss changes made through other replicas."""
        return self._fenced()

    def watch(self, service_names: frozenset[str], after_revision: int, caller: str = "") -> Watcher:
        if after_revision > self._revision:
            # Another replica gave this revision; this one has not applied it yet (milliseconds).
            raise Unavailable(
                f"this replica is at revision {self._revision}, behind {after_revision}; retry",
                reason=Reason.REPLICA_BEHIND,
            )
        return super().watch(service_names, after_revision, caller)

    # ----------------------------------------------------------------- writes

    async def register(self, registration: Registration, caller: str = "") -> tuple[Instance, bool]:
        registration = validation.registration(registration)
        if self._fenced():
            raise fenced_error()
        self._admit(caller)
        try:
            return await self._register(registration)
        finally:
            self._pending.give_back(caller)

    async def _register(self, registration: Registration) -> tuple[Instance, bool]:
        key = registration.key
        for _ in range(WRITE_ATTEMPTS):
            current = self.find(key)
            if current is not None and current.registration == registration:
                return current, False
            if current is None and self._count >= self._max_instances:
                raise limit_reached(
                    Reason.TOO_MANY_INSTANCES,
                    f"the registry holds its maximum of {self._max_instances} instances",
                    self._max_instances,
                )
            written = _registered(registration, current, self._clock(), 0)
            expect = current.mod_revision if current is not None else 0
            revision = await self._write(self._replicated.put_instance(written, expect))
            if revision is None:
                await self._wait_change()  # someone wrote it first: retry on what they wrote
                continue
            await self._applied(revision)
            instance = self.find(key)
            if instance is None:  # removed right after by someone else
                raise instance_not_found(
                    key, f"instance {key[1]!r} of service {key[0]!r} was removed meanwhile"
                )
            log.info(
                "registered",
                extra={"service": key[0], "instance": key[1], "revision": revision, "new": current is None},
            )
            return instance, current is None
        raise Unavailable(
            "the instance kept changing under this registration; retry", reason=Reason.WRITE_CONFLICT
        )

    async def deregister(self, key: InstanceKey) -> int:
        self.get(key)
        if self._fenced():
            raise fenced_error()
        revision = await self._write(self._replicated.delete_instance(key))
        if revision is None:
            raise instance_not_found(key)
        self._statuses.pop(key, None)
        await self._applied(revision)
        log.info("deregistered", extra={"service": key[0], "instance": key[1], "revision": revision})
        return revision

    def set_status(self, key: InstanceKey, status: HealthStatus) -> Change | None:
        """Queue the status for the next batch; memory and watchers get it back from the store.
        Always None: the change does not exist until the store has it."""
        current = self.find(key)
        if current is None:
            return None
        pending = self._statuses.get(key)
        if (pending[0] if pending is not None else current.status) == status:
            return None
        self._statuses[key] = (status, self._clock())
        self._status_dirty.set()
        return None

    @staticmethod
    async def _write(write: Awaitable[T]) -> T:
        try:
            return await write
        except Exception as error:
            raise Unavailable(
                f"the cluster store did not accept the write: {error}", reason=Reason.STORE_UNAVAILABLE
            ) from error

    # ----------------------------------------------------------------- following the store

    async def _follow(self) -> None:
        while True:
            try:
                async for change in self._replicated.changes(self._revision):
                    self._apply_stored(change)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following the cluster store failed; reloading the catalog")
                await self._reload()

    async def _reload(self) -> None:
        """Catch up after the store lost the history we needed (compaction): diff the state."""
        while True:
            try:
                state = await self._replicated.open()
                break
            except Exception:
                await asyncio.sleep(1.0)
        revision = state.revision_ceiling
        stored = {i.key: i for i in state.instances}
        for instance in self.snapshot():
            if instance.key not in stored:
                self._apply_stored(StoredChange(revision, instance.key, None))
        for instance in state.instances:
            if self.find(instance.key) != instance:
                self._apply_stored(StoredChange(revision, instance.key, instance))
        self._apply_stored(StoredChange(revision, None))

    def _apply_stored(self, stored: StoredChange) -> None:
        revision = stored.revision
        key, instance = stored.key, stored.instance
        current = self.find(key) if key is not None else None
        if revision <= self._revision:
            # Already applied (a reload), or a straggler behind a progress report: apply it only
            # if memory has not seen it, so nothing is ever lost.
            seen = current.mod_revision if current is not None else 0
            if key is None or revision <= seen or (instance is None and current is None):
                return
            log.warning("a store change arrived behind its revision", extra={"revision": revision})
        change: Change | None = None
        if instance is not None:
            if current is None:
                change = Change(ChangeType.ADDED, instance, revision)
            elif current.registration != instance.registration:
                change = Change(ChangeType.UPDATED, instance, revision)
            elif current.status != instance.status:
                change = Change(ChangeType.STATUS_CHANGED, instance, revision, current.status)
            else:
                self._put(instance)  # same content, new revisions
        elif current is not None:
            change = Change(ChangeType.REMOVED, current, revision)
        self._revision = max(self._revision, revision)
        if change is not None:
            if key is not None and change.type is not ChangeType.STATUS_CHANGED:
                self._statuses.pop(key, None)
            self._apply(change)
        else:
            self._hub.advance(revision)
        self._wake(revision)

    # ----------------------------------------------------------------- waiting for our writes

    async def _applied(self, revision: int) -> None:
        if self._revision >= revision:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((revision, waiter))
        try:
            async with asyncio.timeout(APPLY_TIMEOUT):
                await waiter
        except TimeoutError:
            raise Unavailable(
                "the write is stored but this replica has not seen it back yet",
                reason=Reason.STORE_UNAVAILABLE,
            ) from None

    async def _wait_change(self) -> None:
        with suppress(Unavailable):
            await self._applied(self._revision + 1)

    def _wake(self, revision: int) -> None:
        if not self._waiters:
            return
        keep = []
        for due, waiter in self._waiters:
            if due <= revision:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                keep.append((due, waiter))
        self._waiters = keep

    # ----------------------------------------------------------------- status batches

    async def _write_statuses(self) -> None:
        while not self._stopping.is_set():
            await self._status_dirty.wait()
            with suppress(TimeoutError):
                async with asyncio.timeout(self._persist_interval):
                    await self._stopping.wait()
            self._status_dirty.clear()
            batch, self._statuses = self._statuses, {}
            instances = []
            for key, (status, since) in batch.items():
                current = self.find(key)
                if current is not None and current.status != status:
                    instances.append(
                        Instance(
                            current.registration,
                            status,
                            current.create_time,
                            current.update_time,
                            since,
                            current.create_revision,
                            current.mod_revision,
                        )
                    )
            if not instances:
                continue
            try:
                await self._replicated.save_statuses(instances)
            except Exception as error:
                log.warning("writing statuses failed; retrying", extra={"error": str(error)})
                for key, value in batch.items():
                    self._statuses.setdefault(key, value)
                self._status_dirty.set()
                await asyncio.sleep(self._persist_interval)
