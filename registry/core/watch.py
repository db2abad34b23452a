"""The watch hub: fans catalog changes out to watchers, and lets a reconnecting watcher resume.

Guarantees (the ones etcd states for its watch API):
- ordered: a watcher receives changes in revision order;
- no gaps, no repeats: every change to a watched service above the watcher's start revision is
  delivered exactly once on one stream, or the stream ends with an error naming the revision to
  resume from;
- atomic: a change is one whole instance at one revision.

How: the catalog applies a change and calls `publish` synchronously, so the hub's `revision` is
always the last applied change. A new watcher is registered in the same synchronous step that
takes its snapshot or its replay from history, so nothing falls between the two. Watchers are
indexed by service name (plus one set for "all services"), so churn in one service touches only
that service's watchers. Each watcher queues at most `buffer` changes and `buffer_bytes` of them
(their approximate encoded size: a count alone lets a stalled watcher of large instances hold
megabytes); a watcher that falls further behind is cut (its queue dropped at once, so memory
stays bounded) and its next read raises ResourceExhausted with the revision to resume from.
Watcher slots are bounded in total and per caller (`CallerSlots`), and a cut watcher's slot is
free at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from registry.core.caller_slots import CallerSlots
from registry.core.errors import (
    InvalidArgument,
    Reason,
    RegistryError,
    ResourceExhausted,
    shutting_down,
)
from registry.core.model import Change, Instance

Snapshot = Callable[[frozenset[str]], list[Instance]]
"""Current instances of the given services (all when empty), in (service, id) order."""


@dataclass(frozen=True, slots=True)
class WatchStart:
    """How a watch begins: either a snapshot or a replay of missed changes, up to `revision`."""

    revision: int
    """The revision the snapshot shows, or the last change the replay covers up to."""
    snapshot: Sequence[Instance] | None
    """Current instances when starting fresh (or when a resume was impossible); None on resume."""
    replay: Sequence[Change]
    """On resume: the changes after the requested revision, in order. Empty with a snapshot."""
    compact_revision: int = 0
    """Non-zero when the requested resume point could not be honoured: the oldest revision the
    hub can replay from. The snapshot replaces whatever the watcher held."""


def approximate_bytes(instance: Instance) -> int:
    """Roughly what `instance` takes encoded in a watch event: its strings, plus a fixed
    allowance per field for tags, lengths and numbers. Cheap (no encoding), computed once per change."""
    reg = instance.registration
    size = 64 + len(reg.service_name) + len(reg.instance_id) + len(reg.version) + len(reg.zone)
    size += sum(16 + len(e.name) + len(e.host) for e in reg.endpoints)
    size += sum(4 + len(t) for t in reg.tags)
    size += sum(8 + len(k) + len(v.encode()) for k, v in reg.metadata.items())
    size += sum(8 + len(d.service_name) for d in reg.dependencies)
    return size


class Watcher:
    """One watch stream's subscription. Read it with `batches`; always `close` it."""

    def __init__(self, hub: WatchHub, services: frozenset[str], start: WatchStart, caller: str = "") -> None:
        self.services = services
        """Watched services; empty means all."""
        self.start = start
        self.caller = caller
        """Who holds the slot (the token subject)."""
        self._hub = hub
        self._queue: deque[Change] = deque()
        self._queued_bytes = 0
        self._ready = asyncio.Event()
        self._error: RegistryError | None = None
        self._revision = start.revision

    @property
    def revision(self) -> int:
        """Every change for this watcher up to here has been handed out by `batches`."""
        return self._revision

    async def batches(self, progress_interval: float) -> AsyncIterator[list[Change]]:
        """Changes as they come, several per batch when they pile up. An empty batch means "quiet
        for `progress_interval` seconds": the caller may report progress at `revision`.

        Raises ResourceExhausted when this watcher was cut for falling behind, Unavailable when
        the registry shuts down; either way the caller resumes from `revision`.
        """
        while True:
            if not self._queue and self._error is None:
                self._ready.clear()
                with suppress(TimeoutError):
                    async with asyncio.timeout(progress_interval):
                        await self._ready.wait()
            if self._error is not None:
                raise self._error
            batch = list(self._queue)
            self._queue.clear()
            self._queued_bytes = 0
            # Publication is synchronous with the catalog's change, so an empty queue means
            # every change up to the hub's revision that concerns us is in `batch` or before.
            self._revision = self._hub.revision
            yield batch

    def close(self) -> None:
        """Unsubscribe. Idempotent."""
        self._hub.remove(self)

    # -- called by the hub ------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Changes queued and not yet handed out."""
        return len(self._queue)

    def offer(self, change: Change, size: int, limit: int, byte_limit: int) -> bool:
        """Queue `change` (`size` approximate bytes); False (and nothing queued) when the queue is
        full by count or by bytes. One change larger than the byte limit still fits an empty queue."""
        if len(self._queue) >= limit or (self._queue and self._queued_bytes + size > byte_limit):
            return False
        self._queue.append(change)
        self._queued_bytes += size
        self._ready.set()
        return True

    def end(self, error: RegistryError) -> None:
        """End the watch: `batches` raises `error` next."""
        self._queue.clear()
        self._queued_bytes = 0
        self._error = error
        self._ready.set()


class WatchHub:
    """Watchers by service, bounded history for resume, and the fan-out between them."""

    def __init__(
        self,
        *,
        history_limit: int,
        buffer: int,
        max_watchers: int,
        max_watchers_per_caller: int | None = None,
        buffer_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._history: deque[Change] = deque(maxlen=history_limit)
        self._buffer = buffer
        self._buffer_bytes = buffer_bytes
        self._slots = CallerSlots(
            "watchers",
            Reason.TOO_MANY_WATCHERS,
            total=max_watchers,
            per_caller=max_watchers_per_caller,
        )
        self._by_service: dict[str, set[Watcher]] = {}
        self._all_services: set[Watcher] = set()
        self._closed = False
        self.cut = 0
        """Watchers ended because they fell behind, since start."""
        self.revision = 0
        """Revision of the last published change (or the start revision)."""
        self.compact_revision = 0
        """The oldest after_revision a watcher can resume from: history holds every change above."""

    def open(self, revision: int) -> None:
        """Start history at `revision` (the catalog's revision when it starts)."""
        self.revision = self.compact_revision = revision

    @property
    def watcher_count(self) -> int:
        return self._slots.held

    def watchers_of(self, caller: str) -> int:
        return self._slots.held_by(caller)

    def subscribe(
        self, services: frozenset[str], after_revision: int, snapshot: Snapshot, caller: str = ""
    ) -> Watcher:
        """Register a watcher and decide, in the same synchronous step, how it starts:
        after_revision 0 -> snapshot; within [compact_revision, revision] -> replay of the
        watched services' changes after it; otherwise (compacted, or from before a restart)
        -> snapshot with compact_revision set."""
        if after_revision < 0:
            raise InvalidArgument("after_revision", f"{after_revision} is negative")
        if self._closed:
            raise shutting_down()
        self._slots.take(caller)
        if after_revision == 0:
            start = WatchStart(self.revision, snapshot(services), ())
        elif self.compact_revision <= after_revision <= self.revision:
            start = WatchStart(self.revision, None, self._replay(services, after_revision))
        else:
            start = WatchStart(self.revision, snapshot(services), (), max(self.compact_revision, 1))
        watcher = Watcher(self, services, start, caller)
        if services:
            for name in services:
                self._by_service.setdefault(name, set()).add(watcher)
        else:
            self._all_services.add(watcher)
        return watcher

    def _replay(self, services: frozenset[str], after_revision: int) -> list[Change]:
        missed: list[Change] = []
        for change in reversed(self._history):
            if change.revision <= after_revision:
                break
            if not services or change.instance.service_name in services:
                missed.append(change)
        missed.reverse()
        return missed

    def publish(self, change: Change) -> None:
        """Record `change` (the next revision) and queue it for its service's watchers."""
        history = self._history
        if len(history) == history.maxlen:
            self.compact_revision = history[0].revision
        history.append(change)
        self.revision = change.revision
        watchers = self._by_service.get(change.instance.service_name)
        if not watchers and not self._all_services:
            return
        size = approximate_bytes(change.instance)
        fell_behind = []
        for group in (watchers, self._all_services):
            for watcher in group or ():
                if not watcher.offer(change, size, self._buffer, self._buffer_bytes):
                    fell_behind.append(watcher)
        for watcher in fell_behind:
            self._cut(watcher)

    def advance(self, revision: int) -> None:
        """Nothing changed up to `revision` (cluster mode: etcd reached it with other keys), so
        watchers may report progress at it and resume from it."""
        self.revision = max(self.revision, revision)

    def backlogs(self) -> list[int]:
        """Changes queued for each open watcher (its lag behind the catalog), for metrics."""
        watchers = set(self._all_services).union(*self._by_service.values())
        return [w.backlog for w in watchers]

    def _cut(self, watcher: Watcher) -> None:
        self.cut += 1
        at = watcher.revision
        self.remove(watcher)
        watcher.end(
            ResourceExhausted(
                f"watcher fell behind at revision {at} (its queue limit of {self._buffer} changes or "
                f"{self._buffer_bytes} bytes); resume with after_revision={at}",
                reason=Reason.WATCHER_FELL_BEHIND,
            )
        )

    def remove(self, watcher: Watcher) -> None:
        """Unsubscribe `watcher`. Idempotent."""
        if watcher.services:
            registered = False
            for name in watcher.services:
                group = self._by_service.get(name)
                if group is not None and watcher in group:
                    registered = True
                    group.discard(watcher)
                    if not group:
                        del self._by_service[name]
        else:
            registered = watcher in self._all_services
            self._all_services.discard(watcher)
        if registered:
            self._slots.give_back(watcher.caller)

    def end_all(self, error: RegistryError) -> None:
        """End every watcher with `error` and refuse new ones (shutdown)."""
        self._closed = True
        watchers = {w for group in self._by_service.values() for w in group} | self._all_services
        for watcher in watchers:
            self.remove(watcher)
            watcher.end(error)
