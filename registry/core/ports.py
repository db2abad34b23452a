"""The ports of the core: everything the domain needs from outside, defined here so that the
dependency runs one way (api -> core -> ports <- store, as etcd puts it: "defined here to avoid
circular dependency").

- `Store` and `EventLog`: the durable truth behind the in-memory catalog and the relay's event log,
  implemented by the backends in `registry.store`. The in-memory catalog is the read path; the
  store rebuilds it at start. Registrations and removals are awaited (a registration acknowledged
  is a registration kept); status transitions and revision bookkeeping arrive in batches off the
  hot path, and never resurrect a removed instance.
- `DeliveryTokenSigner`: signs the token a relayed message carries to its target, implemented
  beside the other crypto in `registry.auth.delivery_tokens`.
- `GraphShare`: swaps compact summaries of the observed graph between the replicas of a
  cluster, implemented by `registry.store.etcd_graph` (SQLite mode has none).
- `Forwarder`: delivers an envelope to one instance over the wire, implemented by
  `registry.api.inbox_client`.

Nothing here imports grpc, SQL, crypto or the filesystem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from registry.core.messages import Envelope, Reply
from registry.core.model import Instance, InstanceKey


class StoreOpenError(Exception):
    """The store cannot be opened (locked by another process, not a database, unwritable). Its
    text is one line naming the file and the cause, fit to show an operator as it is."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause


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

    async def put_instances(
        self, instances: Sequence[Instance], events: Sequence[Envelope] = (), keep_events_from: int = 0
    ) -> None:
        """Insert or replace several instances durably in one transaction (registration group
        commit: one disk sync for every registration that arrived meanwhile). In order: a later
        entry for the same key wins. `events` (with their sequences; one already stored is
        replaced) go into the event log in the same transaction, which also deletes every event
        below `keep_events_from` (0: none), as `EventLog.append_events` does."""
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


@dataclass(frozen=True, slots=True)
class StoredChange:
    """One change another writer (or this one) made to a replicated store, in revision order.
    `instance` is the instance as stored now, None when it was removed; `key` None means no change:
    the store reached `revision` (a progress report)."""

    revision: int
    key: InstanceKey | None
    instance: Instance | None = None


class ReplicatedStore(Protocol):
    """The store of cluster mode: several registry replicas write it, every replica follows it.

    Revisions are the store's own (one order for the whole cluster): every write returns the
    revision it made, and `changes` yields every write, this replica's included, in that order.
    The catalog applies changes only from `changes`, so all replicas apply the same sequence."""

    async def open(self) -> StoredState:
        """Read every instance (statuses as stored) at one revision, `revision_ceiling`."""
        ...

    async def put_instance(self, instance: Instance, expect_mod_revision: int) -> int | None:
        """Write `instance` if its stored mod_revision is still `expect_mod_revision` (0: absent);
        the revision of the write, or None when someone wrote it in between."""
        ...

    async def delete_instance(self, key: InstanceKey) -> int | None:
        """Remove one instance; the revision of the removal, None when it was not stored."""
        ...

    async def save_statuses(self, instances: Sequence[Instance]) -> None:
        """Write the status of each instance, only over the same incarnation (create_revision)
        and only while this replica may decide it (it owns the instance, or judges orphans)."""
        ...

    def changes(self, after_revision: int) -> AsyncIterator[StoredChange]:
        """Every change after `after_revision`, in order, forever (reconnecting as needed), with
        progress reports while quiet."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EventBounds:
    """`oldest`: the lowest sequence stored (0 when the log is empty). `newest`: the highest
    sequence ever stored (0 when none ever was); it never goes back, even when retention empties
    the log, so a sequence is never reused."""

    oldest: int
    newest: int


class EventLog(Protocol):
    """The durable event log of the relay: events by sequence, appended in batches (group
    commit), read in sequence order, trimmed by count and age."""

    async def open(self) -> EventBounds:
        """Open the log (the database must already be migrated by the Store) and read its bounds."""
        ...

    async def append_events(self, events: Sequence[Envelope], keep_from: int) -> None:
        """Store `events` (increasing sequences, above any stored) and delete every event with a
        sequence below `keep_from`, in one transaction, durable when this returns."""
        ...

    async def read_events(
        self, after: int, before: int, limit: int, newest_first: bool = False
    ) -> list[Envelope]:
        """Up to `limit` events with `after < sequence < before`, in sequence order (descending
        when `newest_first`)."""
        ...

    async def first_sequence_at(self, time: float) -> int | None:
        """The lowest sequence created at or after `time`, or None when no such event is stored."""
        ...

    async def trim_events(self, created_before: float) -> EventBounds:
        """Delete events created before `created_before`; the bounds afterwards."""
        ...

    async def close(self) -> None:
        """Release the backend."""
        ...


class ReplicatedEventLog(Protocol):
    """The event log of cluster mode: every replica appends, every replica follows, and the store
    (not the replica) assigns the sequence, so subscribers on any replica see one order."""

    async def open(self) -> EventBounds: ...

    async def append(self, events: Sequence[Envelope]) -> list[Envelope]:
        """Store the events durably; them with the sequences the store gave them."""
        ...

    async def read_events(
        self, after: int, before: int, limit: int, newest_first: bool = False
    ) -> list[Envelope]: ...

    async def first_sequence_at(self, time: float) -> int | None: ...

    async def trim(self, created_before: float, keep: int) -> EventBounds:
        """Delete events older than `created_before`, then the oldest beyond `keep`."""
        ...

    def follow(self, after: int) -> AsyncIterator[Envelope | int]:
        """Every event any replica stores after sequence `after`, in order, forever; an int
        reports that nothing was stored up to that sequence."""
        ...

    async def close(self) -> None: ...


class DeliveryTokenSigner(Protocol):
    """Signs delivery tokens: how a target proves that a message came through the registry, and
    from whom. `jwks` and `issuer` are what RelayService.GetDeliveryKeys publishes to targets."""

    @property
    def issuer(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    @property
    def jwks(self) -> str: ...

    def sign(self, *, source: str, target: str, envelope_id: str, now: float | None = None) -> str:
        """A compact JWS with `sub` the source service, `aud` the target, `eid` the envelope id."""
        ...


class GraphShare(Protocol):
    """Where the replicas of a cluster leave their share of the observed graph for each other."""

    async def exchange(self, summary: bytes) -> list[bytes]:
        """Publish this replica's latest summary (it goes when the replica goes) and return the
        latest summary of every other live replica."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """One instance's Inbox address."""

    key: InstanceKey
    host: str
    port: int


class Forwarder(Protocol):
    """Delivers an envelope to one instance; raises TargetError with the target's status."""

    async def deliver(self, target: Target, envelope: Envelope, token: str, time_left: float) -> Reply: ...

    def forget(self, key: InstanceKey) -> None:
        """Release whatever is held for an instance that left or moved."""
        ...


class Clock(Protocol):
    """The clocks the core reads, injected instead of calls to `time`: a monotonic reading for
    every interval, deadline and rate (it never jumps), and the wall clock only to show when
    something happened and to age a client's send time. Tests drive the core with a clock they
    move by hand; the registry hands liveness one that does not run while the registry itself is
    stalled. The process's real clocks are `registry.clock.SystemClock`."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...
