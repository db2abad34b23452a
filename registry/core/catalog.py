"""The catalog: every registered instance in memory, the revision counter, and the write paths.

The in-memory index is `registry.core.catalog_index`, the paged reads `registry.core.catalog_paging`,
the revision counter `registry.core.revisions` and the batched status writes
`registry.core.status_writer`; this module owns what keeps memory, store, revisions and watchers
in step.

Memory is the read path (Lookup, List, Watch never touch the store); the store is the durable
truth the catalog is rebuilt from at start. Three rules keep the two and the watchers in step:

- Registrations and removals take one lock, await the store first (an acknowledged
  registration is a kept one), then allocate the revision, apply the change to memory and
  publish it in one synchronous step. Store order, memory order and revision order agree, and a
  change is never visible before it is durable. Registrations commit in groups (one transaction
  for all that arrived meanwhile), with the lifecycle events they cause (`journal`).
- Status changes (the liveness engine's only write) are synchronous and in memory: a revision,
  the memory update and the watch event, nothing else. A writer task persists them in batches
  every `persist_interval`, coalesced per instance; a failed batch is logged and retried.
- Revisions are never reused, even across a crash. The counter starts at the store's revision
  ceiling, and revisions are reserved in blocks by raising the ceiling ahead of use (hi-lo), so
  the counter itself is never written per change. A registration waits for a reservation when
  the block is used up; a status change cannot wait, so the writer refills the block once half
  of it is used, far ahead of any realistic burst.

After a restart every instance is UNKNOWN (until its heartbeat stream returns): the registry
cannot know what happened while it was down. That is not a watch event; watchers from before
the restart resume with a fresh snapshot because their revision is below the new start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from registry.core import catalog_paging, validation
from registry.core.caller_slots import CallerSlots
from registry.core.catalog_index import CatalogIndex
from registry.core.catalog_paging import Page, ServiceSummary
from registry.core.errors import (
    Reason,
    Unavailable,
    instance_not_found,
    limit_reached,
    shutting_down,
)
from registry.core.events import EventBus, Reservation
from registry.core.lookup import LookupQuery, select
from registry.core.messages import Envelope, sequenced
from registry.core.model import (
    Change,
    ChangeType,
    HealthStatus,
    Instance,
    InstanceKey,
    Registration,
)
from registry.core.ports import Store
from registry.core.revisions import REVISION_BLOCK, Revisions
from registry.core.status_writer import StatusWriter
from registry.core.watch import Watcher, WatchHub

log = logging.getLogger(__name__)


class Catalog:
    """See the module docstring. Call `start` before use and `close` at the end."""

    def __init__(
        self,
        store: Store,
        *,
        history_limit: int,
        watcher_buffer: int,
        max_watchers: int,
        max_watchers_per_caller: int | None = None,
        watcher_buffer_bytes: int = 4 * 1024 * 1024,
        max_instances: int,
        persist_interval: float,
        clock: Callable[[], float] = time.time,
        revision_block: int = REVISION_BLOCK,
        max_pending_registrations: int = 10_000,
        max_pending_registrations_per_caller: int | None = None,
    ) -> None:
        self._store = store
        self._max_instances = max_instances
        self._persist_interval = persist_interval
        self._clock = clock
        self._hub = WatchHub(
            history_limit=history_limit,
            buffer=watcher_buffer,
            buffer_bytes=watcher_buffer_bytes,
            max_watchers=max_watchers,
            max_watchers_per_caller=max_watchers_per_caller,
        )
        self._index = CatalogIndex()
        self._revisions = Revisions(revision_block)
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._writer = StatusWriter(store, self._revisions, self._lock, persist_interval, self._stopping)
        self._started = False
        self._listeners: list[Callable[[Change], None]] = []
        self._closed = False
        self._pending = CallerSlots(
            "registrations",
            Reason.REGISTRY_BUSY,
            total=max_pending_registrations,
            per_caller=max_pending_registrations // 2
            if max_pending_registrations_per_caller is None
            else max_pending_registrations_per_caller,
        )
        """Registrations admitted and not yet answered, in total and per caller."""
        self._waiting: dict[InstanceKey, int] = {}
        """Registrations admitted and not yet answered, per instance."""
        self._registrations: list[tuple[Registration, Answer]] = []
        self._registrations_waiting = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._journal: tuple[EventBus, Callable[[Change], Envelope | None]] | None = None

    # ----------------------------------------------------------------- life cycle

    async def start(self) -> list[Instance]:
        """Load the store (every instance UNKNOWN), reserve revisions, start the writer.

        Returns the instances as stored, with the status they last had before the restart, for
        listeners that must not announce again what they announced before it."""
        state = await self._store.open()
        now = self._clock()
        for stored in state.instances:
            self._put(_unknown(stored, now))
        self._revisions.start_at(state.revision_ceiling)
        async with self._lock:
            await self._writer.flush_locked()
        self._hub.open(self._revision)
        self._writer.start()
        self._started = True
        self._committer = asyncio.create_task(self._commit_loop(), name="catalog-committer")
        log.info("catalog loaded", extra={"instances": self._count, "revision": self._revision})
        return list(state.instances)

    def end_watches(self) -> None:
        """End every watch with UNAVAILABLE so clients reconnect (elsewhere, or after a restart)
        and resume; refuse new ones."""
        self._hub.end_all(shutting_down())

    async def close(self) -> None:
        """End watches, persist pending status changes, close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.end_watches()
        if self._committer is not None:  # answers what was admitted before closing, then ends
            self._registrations_waiting.set()
            await self._committer
        if self._started:
            self._stopping.set()
            await self._writer.stop()
        await self._store.close()

    # ----------------------------------------------------------------- reads

    @property
    def possibly_stale(self) -> bool:
        """Whether reads may be behind the durable state (cluster mode, a replica cut off from
        its store); never in single-node mode, where memory is the truth."""
        return False

    @property
    def revision(self) -> int:
        """The revision of the last change (or the start revision)."""
        return self._revision

    def find(self, key: InstanceKey) -> Instance | None:
        return self._index.find(key)

    def get(self, key: InstanceKey) -> Instance:
        instance = self._index.find(key)
        if instance is None:
            raise instance_not_found(key)
        return instance

    def instances_of(self, service_name: str) -> Mapping[str, Instance]:
        """A read-only live view of one service's instances by id, O(1)."""
        return self._index.instances_of(service_name)

    def snapshot(self, service_names: frozenset[str] = frozenset()) -> list[Instance]:
        """Current instances of these services (all when empty), in (service, id) order."""
        return self._index.snapshot(service_names)

    def status_counts(self) -> dict[str, dict[HealthStatus, int]]:
        """Instances per service and status (read by the metrics at scrape time, O(instances))."""
        return self._index.status_counts()

    def lookup(self, query: LookupQuery) -> tuple[list[Instance], int]:
        """Matching instances of one service (see `registry.core.lookup`) and the revision."""
        validation.lookup_query(query)
        service = self._index.services.get(query.service_name)
        # select() even for an unknown service: a malformed constraint is refused either way.
        return select(query, service.ordered() if service is not None else ()), self._revision

    def list_services(self, page_size: int, page_token: str) -> Page[ServiceSummary]:
        return catalog_paging.list_services(self._index, page_size, page_token, self._revision)

    def list_instances(self, service_name: str, page_size: int, page_token: str) -> Page[Instance]:
        """Instances of one service (or all when `service_name` is empty) by (service, id)."""
        return catalog_paging.list_instances(self._index, service_name, page_size, page_token, self._revision)

    @property
    def watch_hub(self) -> WatchHub:
        """For metrics: watcher count, backlogs, cuts."""
        return self._hub

    def watch(self, service_names: frozenset[str], after_revision: int, caller: str = "") -> Watcher:
        """Subscribe to changes of these services (all when empty), in one of `caller`'s watcher
        slots; see `registry.core.watch`."""
        return self._hub.subscribe(service_names, after_revision, self.snapshot, caller)

    def journal(self, bus: EventBus, event_of: Callable[[Change], Envelope | None]) -> None:
        """Store the event `event_of` gives for a registration's change (its lifecycle event) in
        the registration's own transaction: one disk sync for both, and never an acknowledged
        registration without its event. `bus` numbers the events and sends them to subscribers
        once stored."""
        self._journal = (bus, event_of)

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` synchronously for every change, after it is applied and published."""
        self._listeners.append(listener)

    # ----------------------------------------------------------------- writes

    async def register(self, registration: Registration, caller: str = "") -> tuple[Instance, bool]:
        """Create or update an instance; True when created. An equal registration is a no-op.

        Registrations that arrive while one is being written are committed together in the next
        transaction (group commit: one disk sync for all of them); each is answered only after
        its transaction is durable. Admission control: at most `max_pending_registrations` wait
        at once, and at most `max_pending_registrations_per_caller` of them from one `caller`
        (the token subject); more are refused with UNAVAILABLE (REGISTRY_BUSY), so the admitted
        ones finish and one busy caller cannot lock the others out.

        The same registration again, with none of the instance's waiting, is answered at once
        from memory (which holds only what is durable): it changes nothing and writes nothing."""
        registration = validation.registration(registration)
        if self._closed:
            raise shutting_down()
        key = registration.key
        waiting = self._waiting
        if key not in waiting:
            current = self.find(key)
            if current is not None and current.registration == registration:
                return current, False
        self._admit(caller)
        waiting[key] = waiting.get(key, 0) + 1
        try:
            answer: Answer = asyncio.get_running_loop().create_future()
            self._registrations.append((registration, answer))
            self._registrations_waiting.set()
            return await answer
        finally:
            self._pending.give_back(caller)
            if waiting[key] == 1:
                del waiting[key]
            else:
                waiting[key] -= 1

    def _admit(self, caller: str) -> None:
        """Take one of `caller`'s registration slots, or refuse with REGISTRY_BUSY; the caller
        gives it back (`self._pending.give_back`) once answered."""
        pending = self._pending
        if pending.held >= pending.total or pending.held_by(caller) >= pending.per_caller:
            mine = pending.held < pending.total
            limit = pending.per_caller if mine else pending.total
            whose = "of this caller " if mine else ""
            raise Unavailable(
                f"{limit} registrations {whose}are being committed; retry shortly",
                reason=Reason.REGISTRY_BUSY,
                metadata={"limit": str(limit)},
            )
        pending.take(caller)

    async def _commit_loop(self) -> None:
        """Commit queued registrations, all that queued meanwhile in each transaction."""
        while True:
            await self._registrations_waiting.wait()
            self._registrations_waiting.clear()
            batch, self._registrations = self._registrations, []
            if not batch:
                if self._closed:
                    return
                continue
            try:
                async with self._lock:
                    await self._commit_locked(batch)
            except Exception as error:  # the store failed: every waiting registration hears it
                log.exception("committing registrations failed", extra={"registrations": len(batch)})
                for _, answer in batch:
                    _fail(answer, error)

    async def _commit_locked(self, batch: list[tuple[Registration, Answer]]) -> None:
        writes = self._plan(batch)
        if not writes:
            return
        reservation = self._reserve_events(writes)
        began = time.monotonic()
        try:
            if self._revisions.exhausted_by(len(writes)):
                await self._writer.flush_locked()
            instances = [write.written for write in writes]
            if reservation is None:
                await self._store.put_instances(instances)
            else:
                await self._store.put_instances(instances, reservation.events, reservation.keep_from)
        except BaseException:
            if reservation is not None:
                self._settle(reservation, stored=False)
            raise
        try:
            corrections = self._publish(writes, time.monotonic() - began)
            for write, instance in corrections:
                await self._correct(
                    write.written, instance, self._corrected_event(write, instance, reservation)
                )
                _answer(write.answer, (instance, write.base is None))
        finally:
            if reservation is not None:
                self._settle(reservation, stored=True)

    def _reserve_events(self, writes: list[_Write]) -> Reservation | None:
        """The journal's events for these writes, numbered by the bus, to commit with them."""
        if self._journal is None:
            return None
        bus, event_of = self._journal
        events: list[Envelope] = []
        for write in writes:
            if write.planned:
                event = event_of(_change(write.written, write.base))
                if event is not None:
                    write.event = len(events)
                    events.append(event)
        return bus.reserve(events) if events else None

    def _corrected_event(
        self, write: _Write, instance: Instance, reservation: Reservation | None
    ) -> Envelope | None:
        """The write's event rebuilt for what memory got (its revision moved), same sequence."""
        if reservation is None or write.event < 0 or self._journal is None:
            return None
        event = self._journal[1](_change(instance, write.base))
        if event is None:
            return None
        stored = reservation.events[write.event] = sequenced(event, reservation.events[write.event].sequence)
        return stored

    def _settle(self, reservation: Reservation, *, stored: bool) -> None:
        assert self._journal is not None
        self._journal[0].settle(reservation, stored=stored)

    def _plan(self, batch: list[tuple[Registration, Answer]]) -> list[_Write]:
        """What the store gets for each registration of the batch that changes something, with
        the revision each will take if nothing else takes one first. The rest are answered now:
        an equal registration is a no-op, one past the instance limit is refused."""
        planned: dict[InstanceKey, Instance] = {}
        writes: list[_Write] = []
        count = self._count
        revision = self._revision
        now = self._clock()
        for registration, answer in batch:
            if answer.done():
                continue  # its caller gave up (cancelled): not written
            key = registration.key
            current = planned.get(key) or self.find(key)
            if current is not None and current.registration == registration:
                if key in planned:
                    writes.append(_Write(registration, answer, current, current))  # answered with the write
                else:
                    _answer(answer, (current, False))
                continue
            if current is None:
                if count >= self._max_instances:
                    too_many = limit_reached(
                        Reason.TOO_MANY_INSTANCES,
                        f"the registry holds its maximum of {self._max_instances} instances",
                        self._max_instances,
                    )
                    _fail(answer, too_many)
                    continue
                count += 1
            revision += 1
            written = _registered(registration, current, now, revision)
            planned[key] = written
            writes.append(_Write(registration, answer, written, current, planned=True))
        return writes

    def _publish(self, writes: list[_Write], took: float) -> list[tuple[_Write, Instance]]:
        """After the commit: each write takes its revision, goes into memory and out to watchers
        and listeners in arrival order, and is answered; one synchronous step. Returns the writes
        whose stored row must be corrected (a status change raced the commit) before they are
        answered."""
        corrections: list[tuple[_Write, Instance]] = []
        created = updated = 0
        first_revision = self._revision + 1
        debug = log.isEnabledFor(logging.DEBUG)
        for write in writes:
            key = write.registration.key
            current = self.find(key)
            if current is not None and current.registration == write.registration:
                _answer(write.answer, (current, False))  # an earlier entry of this batch made it
                continue
            revision = self._next_revision()
            instance = write.written
            if current is not write.base or revision != instance.mod_revision:
                # A status change ran during the write, taking a revision or moving the status
                # on: build what memory gets from the state as it is now.
                instance = _registered(write.registration, current, instance.update_time, revision)
                if write.planned and instance != write.written:
                    corrections.append((write, instance))
            self._apply(
                Change(ChangeType.ADDED if current is None else ChangeType.UPDATED, instance, revision)
            )
            created += current is None
            updated += current is not None
            if debug:
                log.debug(
                    "registered",
                    extra={
                        "service": key[0],
                        "instance": key[1],
                        "revision": revision,
                        "new": current is None,
                    },
                )
            if not corrections or corrections[-1][0] is not write:
                _answer(write.answer, (instance, current is None))
        if created or updated:
            # One line per transaction, not per instance (DEBUG has those): at thousands of
            # registrations a second, a line each cost as much as the rest of the registration.
            log.info(
                "registered",
                extra={
                    "new": created,
                    "updated": updated,
                    "revisions": f"{first_revision}-{self._revision}",
                    "commit_ms": round(took * 1000, 1),
                },
            )
        return corrections

    async def _correct(self, written: Instance, instance: Instance, event: Envelope | None = None) -> None:
        """Make the store match memory after a registration raced a status change (and its
        stored event, when the revision it names moved)."""
        if written.create_revision == instance.create_revision:
            self._queue_state(instance)  # only state columns differ: the batch writer fixes them
            return
        # The store's batches match rows by create_revision, so the row itself must be fixed.
        try:
            if event is None:
                await self._store.put_instance(instance)
            else:
                await self._store.put_instances([instance], [event])
        except Exception:
            log.exception("could not correct the stored revision", extra={"instance": instance.key})

    async def deregister(self, key: InstanceKey) -> int:
        """Remove an instance; the revision of the removal. NotFound when unknown."""
        async with self._lock:
            self.get(key)
            await self._store.delete_instance(key)
            instance = self.get(key)  # as it is now: its status may have changed meanwhile
            revision = self._next_revision()
            self._writer.forget(key)
            self._apply(Change(ChangeType.REMOVED, instance, revision))
        log.info("deregistered", extra={"service": key[0], "instance": key[1], "revision": revision})
        return revision

    def set_status(self, key: InstanceKey, status: HealthStatus) -> Change | None:
        """Change an instance's status in memory now, persist it in the next batch. None when
        the instance is unknown or already has this status."""
        current = self.find(key)
        if current is None or current.status == status:
            return None
        revision = self._next_revision()
        instance = Instance(
            current.registration,
            status,
            current.create_time,
            current.update_time,
            self._clock(),
            current.create_revision,
            revision,
        )
        change = Change(ChangeType.STATUS_CHANGED, instance, revision, current.status)
        self._apply(change)
        self._queue_state(instance)
        return change

    # ----------------------------------------------------------------- internals

    @property
    def _revision(self) -> int:
        return self._revisions.current

    @_revision.setter
    def _revision(self, revision: int) -> None:
        self._revisions.current = revision

    def _next_revision(self) -> int:
        revision = self._revisions.next()
        if self._revisions.reservation_due:
            self._writer.wake()  # the writer reserves the next block
        return revision

    def _apply(self, change: Change) -> None:
        if change.type is ChangeType.REMOVED:
            self._remove(change.instance.key)
        else:
            self._put(change.instance)
        self._hub.publish(change)
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:
                log.exception("catalog listener failed", extra={"listener": repr(listener)})

    def _put(self, instance: Instance) -> None:
        self._index.put(instance)

    def _remove(self, key: InstanceKey) -> None:
        self._index.remove(key)

    @property
    def _count(self) -> int:
        return self._index.count

    def _queue_state(self, instance: Instance) -> None:
        self._writer.queue(instance)


_T = TypeVar("_T")
Answer = asyncio.Future[tuple[Instance, bool]]
"""Where a waiting Register hears its outcome: the instance, and whether it was created."""


@dataclass(slots=True)
class _Write:
    """One registration of a group commit that the store gets."""

    registration: Registration
    answer: Answer
    written: Instance
    """What the store gets."""
    base: Instance | None
    """The instance it was planned from (None: a new one)."""
    planned: bool = False
    """False for a repeat of an earlier entry of the same batch, answered along with it."""
    event: int = -1
    """Index of its event in the batch's reservation (-1: none)."""


def _change(instance: Instance, base: Instance | None) -> Change:
    """The change a registration makes: ADDED when there was no instance before."""
    kind = ChangeType.ADDED if base is None else ChangeType.UPDATED
    return Change(kind, instance, instance.mod_revision)


def _answer(answer: asyncio.Future[_T], value: _T) -> None:
    if not answer.done():  # the caller may have given up (cancelled) meanwhile
        answer.set_result(value)


def _fail(answer: asyncio.Future[_T], error: BaseException) -> None:
    if not answer.done():
        answer.set_exception(error)


def _unknown(stored: Instance, now: float) -> Instance:
    """A stored instance as a restart finds it: its status is not known any more."""
    if stored.status == HealthStatus.UNKNOWN:
        return stored
    return Instance(
        stored.registration,
        HealthStatus.UNKNOWN,
        stored.create_time,
        stored.update_time,
        now,
        stored.create_revision,
        stored.mod_revision,
    )


def _registered(registration: Registration, current: Instance | None, now: float, revision: int) -> Instance:
    """The instance a registration makes: new, or `current` with its status and creation kept."""
    if current is None:
        return Instance(registration, HealthStatus.UNKNOWN, now, now, now, revision, revision)
    return Instance(
        registration,
        current.status,
        current.create_time,
        now,
        current.status_time,
        current.create_revision,
        revision,
    )
