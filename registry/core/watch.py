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
that service's watchers. Each watcher queues at most `buffer` changes; a watcher that falls
further behind is cut (its queue dropped at once, so memory stays bounded) and its next read
raises ResourceExhausted with the revision to resume from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from registry.core.errors import (
    InvalidArgument,
    Reason,
    RegistryError,
    ResourceExhausted,
    limit_reached,
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


class Watcher:
    """One watch stream's subscription. Read it with `batches`; always `close` it."""

    def __init__(self, hub: WatchHub, services: frozenset[str], start: WatchStart) -> None:
        self.services = services
        """Watched services; empty means all."""
        self.start = start
        self._hub = hub
        self._queue: deque[Change] = deque()
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
            # Publication is synchronous with the catalog's change, so an empty queue means
            # every change up to the hub's revision that concerns us is in `batch` or before.
            self._revision = self._hub.revision
            yield batch

    def close(self) -> None:
        """Unsubscribe. Idempotent."""
        self._hub.remove(self)

    def _offer(self, change: Change, limit: int) -> bool:
        """Queue `change`; False (and nothing queued) when the queue is full."""
        if len(self._queue) >= limit:
            return False
        self._queue.append(change)
        self._ready.set()
        return True

    def _end(self, error: RegistryError) -> None:
        self._queue.clear()
        self._error = error
        self._ready.set()


class WatchHub:
    """Watchers by service, bounded history for resume, and the fan-out between them."""

    def __init__(self, *, history_limit: int, buffer: int, max_watchers: int) -> None:
        self._history: deque[Change] = deque(maxlen=history_limit)
        self._buffer = buffer
        self._max_watchers = max_watchers
        self._by_service: dict[str, set[Watcher]] = {}
        self._all_services: set[Watcher] = set()
        self._count = 0
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
        return self._count

    def subscribe(self, services: frozenset[str], after_revision: int, snapshot: Snapshot) -> Watcher:
        """Register a watcher and decide, in the same synchronous step, how it starts:
        after_revision 0 -> snapshot; within [compact_revision, revision] -> replay of the
        watched services' changes after it; otherwise (compacted, or from before a restart)
        -> snapshot with compact_revision set."""
        if after_revision < 0:
            raise InvalidArgument("after_revision", f"{after_revision} is negative")
        if self._closed:
            raise shutting_down()
        if self._count >= self._max_watchers:
            raise limit_reached(
                Reason.TOO_MANY_WATCHERS,
                f"too many watchers ({self._max_watchers}); close one or retry later",
                self._max_watchers,
            )
        if after_revision == 0:
            start = WatchStart(self.revision, snapshot(services), ())
        elif self.compact_revision <= after_revision <= self.revision:
            start = WatchStart(self.revision, None, self._replay(services, after_revision))
        else:
            start = WatchStart(self.revision, snapshot(services), (), max(self.compact_revision, 1))
        watcher = Watcher(self, services, start)
        if services:
            for name in services:
                self._by_service.setdefault(name, set()).add(watcher)
        else:
            self._all_services.add(watcher)
        self._count += 1
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
        fell_behind = []
        for group in (watchers, self._all_services):
            for watcher in group or ():
                if not watcher._offer(change, self._buffer):
                    fell_behind.append(watcher)
        for watcher in fell_behind:
            self._cut(watcher)

    def backlogs(self) -> list[int]:
        """Changes queued for each open watcher (its lag behind the catalog), for metrics."""
        watchers = set(self._all_services).union(*self._by_service.values())
        return [len(w._queue) for w in watchers]

    def _cut(self, watcher: Watcher) -> None:
        self.cut += 1
        at = watcher.revision
        self.remove(watcher)
        watcher._end(
            ResourceExhausted(
                f"watcher fell behind at revision {at}; resume with after_revision={at}",
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
            self._count -= 1

    def end_all(self, error: RegistryError) -> None:
        """End every watcher with `error` and refuse new ones (shutdown)."""
        self._closed = True
        watchers = {w for group in self._by_service.values() for w in group} | self._all_services
        for watcher in watchers:
            self.remove(watcher)
            watcher._end(error)
