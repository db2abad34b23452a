"""The event bus: a durable, sequenced event log with filtered fan-out to live subscribers.

Publishing: `publish` gives the event the next sequence number and queues it; one writer task
commits everything queued while the previous commit ran in a single transaction (group commit:
one fsync for many events), then advances the head, offers each event to the live subscribers
whose filters match, and only then acknowledges the publishers. So an acknowledged event is on
disk, and a subscriber never sees an event that could still be lost.

Subscribing: a subscriber starts at the latest event, after a sequence, or at a time. It first
replays from disk, in sequence order, page by page, until it reaches the head; at that moment,
in the same synchronous step (no await in between), it joins the live set, so the hand-over from
disk to memory has no gap and no overlap. Live delivery is `registry.core.subscription`.

Events stored by someone else: a registration group commit stores the `registry.instance.started`
events of its registrations in its own transaction (one fsync for both). It `reserve`s their
sequences first and `settle`s them once the transaction has committed (or failed). Whatever is
stored, the head only moves over consecutive sequences that are settled, so events committed
ahead of an earlier reservation wait for it: the head never passes a sequence that could still
be lost, and subscribers see one order.

Retention: at most `retention_count` events (enforced in the same transaction as each append) and
none older than `retention_seconds` (trimmed every tenth of that age, at most every minute).
Sequence numbers are never reused, even after retention empties the log or the registry
restarts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from registry.core import paging, validation
from registry.core.caller_slots import CallerSlots
from registry.core.errors import (
    InvalidArgument,
    Reason,
    ResourceExhausted,
    Unavailable,
    limit_reached,
    shutting_down,
)
from registry.core.event_filter import EventFilter
from registry.core.messages import Envelope, sequenced
from registry.core.ports import EventLog
from registry.core.subscription import LiveBuffer
from registry.core.topic_trie import TopicTrie

log = logging.getLogger(__name__)

MAX_PENDING_PUBLISHES = 10_000
"""Events accepted but not yet committed; beyond it Publish fails with RESOURCE_EXHAUSTED."""
REPLAY_PAGE = 256
"""Events read from disk per query while a subscriber catches up."""
LIST_SCAN_LIMIT = 10_000
"""Stored events one ListEvents call examines at most, so a narrow filter costs bounded work."""
_LIST_READ = 500
_SEQUENCE = re.compile(r"[0-9]{1,18}", re.ASCII)
"""A sequence in a page token: ASCII digits only, small enough for SQLite's 64-bit integers."""


@dataclass(frozen=True, slots=True)
class EventQuery:
    """ListEvents arguments other than paging. Times are Unix seconds; 0 means unbounded."""

    filter: EventFilter
    after_sequence: int = 0
    start_time: float = 0.0
    end_time: float = 0.0
    newest_first: bool = False

    def scope(self) -> str:
        """What a page token is bound to: every field, in a stable spelling."""
        f = self.filter
        return (
            f"events:{sorted(f.topics)}:{f.tenant_id}:{sorted(f.source_services)}:"
            f"{sorted(f.target_services)}:{self.after_sequence}:{self.start_time!r}:{self.end_time!r}:"
            f"{self.newest_first}"
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Envelope]
    next_page_token: str
    head: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """Sequences reserved for events their reserver stores in its own transaction."""

    events: list[Envelope]
    """The events with their sequences; the reserver may rebuild one before settling (same
    sequence), and fan-out sends what is here when it settles."""
    keep_from: int
    """The retention bound the reserver's transaction applies (delete every event below it)."""


_Run = tuple[list[tuple[Envelope, "asyncio.Future[None] | None"]], int, bool]
"""Consecutive events settled together: (events with their publishers' futures, the retention
bound their transaction applied, whether they were stored)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for a subscriber, and the point it can resume after."""

    event: Envelope
    resume_after: int


@dataclass(frozen=True, slots=True)
class BusSettings:
    """What an event bus keeps and for how many subscribers (the operator's settings): one
    object, so the single-node bus and the replicated one take the same settings the same way."""

    retention_count: int
    retention_seconds: float
    subscriber_buffer: int
    max_subscribers: int
    max_subscribers_per_caller: int | None = None


class Subscription:
    """A subscriber: replay from disk, then live. Iterate once; `close` when done."""

    def __init__(
        self, bus: EventBus, event_filter: EventFilter, start_after: int, buffer: int, caller: str = ""
    ) -> None:
        self.filter = event_filter
        self.caller = caller
        """Who holds the slot (the token subject)."""
        self.start_after = start_after
        self.head_at_start = bus.head
        self.oldest_at_start = bus.oldest
        self._bus = bus
        self._buffer = LiveBuffer(buffer, lambda: bus.head)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        cursor = self.start_after
        while cursor < self._bus.head:
            head = self._bus.head
            page = await self._bus.log.read_events(cursor, head + 1, REPLAY_PAGE)
            for event in page:
                cursor = event.sequence
                if self.filter.matches(event):
                    self._bus.delivered += 1
                    yield Delivery(event, cursor)
            if len(page) < REPLAY_PAGE:
                cursor = max(cursor, head)
        self._bus.go_live(self)  # synchronous: no event can slip between the check and this
        while (taken := await self._buffer.take()) is not None:
            self._bus.delivered += 1
            yield Delivery(*taken)

    def offer(self, event: Envelope) -> bool:
        return self._buffer.offer(event)

    @property
    def backlog(self) -> int:
        """Events waiting in this subscriber's buffer."""
        return self._buffer.size

    def end(self, error: Unavailable | None) -> None:
        self._buffer.end(error)

    def close(self) -> None:
        self._buffer.end(None)
        self._bus.forget(self)


class EventBus:
    """See the module docstring. `start` after the store is migrated; `close` at the end."""

    def __init__(
        self, log_store: EventLog, settings: BusSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.log = log_store
        self._retention_count = settings.retention_count
        self._retention_seconds = settings.retention_seconds
        self._subscriber_buffer = settings.subscriber_buffer
        self._slots = CallerSlots(
            "subscriptions",
            Reason.TOO_MANY_SUBSCRIBERS,
            total=settings.max_subscribers,
            per_caller=settings.max_subscribers_per_caller,
        )
        self._clock = clock
        self._head = 0
        self._oldest = 0
        self._next = 1
        self._through = 0
        """Every sequence up to here is settled: stored and fanned out, or failed."""
        self._settled: dict[int, _Run] = {}
        """Runs settled ahead of their turn, by first sequence: an earlier sequence is still
        being written (in a reserver's transaction)."""
        self._pending: list[tuple[Envelope, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._subscribers: set[Subscription] = set()
        self._live: set[Subscription] = set()
        self._live_topics: TopicTrie[Subscription] = TopicTrie()
        """Every live subscriber under each of its patterns: fan-out asks the trie which
        subscribers an event's topic reaches, instead of asking every subscriber."""
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.published = 0
        """Events stored since start (counters for the metrics, read at scrape time)."""
        self.delivered = 0
        """Events handed to subscriber streams."""
        self.dropped = 0
        """Events lost to a subscriber that was cut for falling behind, or registry events that
        could not be queued."""

    # ----------------------------------------------------------------- life cycle

    async def start(self) -> None:
        bounds = await self.log.open()
        self._head, self._oldest = bounds.newest, bounds.oldest
        self._next = bounds.newest + 1
        self._through = bounds.newest
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="event-writer"),
            asyncio.create_task(self._age_loop(), name="event-retention"),
        ]
        log.info("event log opened", extra={"oldest": self._oldest, "head": self._head})

    def end_subscriptions(self) -> None:
        """End every subscription with UNAVAILABLE so subscribers reconnect and resume; refuse new
        publishes and subscriptions."""
        self._closing = True
        for subscription in list(self._subscribers):
            subscription.end(shutting_down())

    async def close(self) -> None:
        """Commit what is queued, stop the tasks, close the log. Idempotent."""
        if not self._tasks:
            return
        self.end_subscriptions()
        writer, ager = self._tasks
        self._tasks = []
        ager.cancel()
        self._wake.set()
        await writer
        with suppress(asyncio.CancelledError):
            await ager
        await self.log.close()

    # ----------------------------------------------------------------- reads

    @property
    def topic_index(self) -> TopicTrie[Subscription]:
        """The live subscribers under their topic patterns; its `steps` counts fan-out work."""
        return self._live_topics

    @property
    def head(self) -> int:
        """Sequence of the newest durable event (0 when none ever was)."""
        return self._head

    def backlogs(self) -> list[int]:
        """Events waiting for each subscriber (its lag), for metrics."""
        return [s.backlog for s in self._subscribers]

    @property
    def oldest(self) -> int:
        """Sequence of the oldest stored event (0 when none is stored)."""
        return self._oldest

    # ----------------------------------------------------------------- publishing

    async def publish(self, event: Envelope) -> Envelope:
        """Store an accepted event and fan it out; returns it with its sequence once durable."""
        done = asyncio.get_running_loop().create_future()
        stored = self._enqueue(event, done)
        # The commit goes ahead even if the publisher gives up waiting.
        await asyncio.shield(done)
        return stored

    def publish_nowait(self, event: Envelope) -> Envelope | None:
        """Queue an event the registry itself publishes (lifecycle); None when it was dropped
        because the bus is closing or full (logged)."""
        try:
            return self._enqueue(event, None)
        except (ResourceExhausted, Unavailable) as error:
            self.dropped += 1
            log.warning("event dropped", extra={"event": event.name, "error": error.message})
            return None

    def _enqueue(self, event: Envelope, done: asyncio.Future[None] | None) -> Envelope:
        if self._closing:
            raise shutting_down()
        if len(self._pending) >= MAX_PENDING_PUBLISHES:
            raise limit_reached(
                Reason.PUBLISH_BACKLOG_FULL,
                f"{MAX_PENDING_PUBLISHES} events are waiting to be stored; retry shortly",
                MAX_PENDING_PUBLISHES,
            )
        stored = sequenced(event, self._next)
        self._next += 1
        self._pending.append((stored, done))
        self._wake.set()
        return stored

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)
            elif self._closing:
                return

    async def _commit(self, batch: list[tuple[Envelope, asyncio.Future[None] | None]]) -> None:
        events = [event for event, _ in batch]
        keep_from = self._keep_from(events[-1].sequence)
        try:
            await self.log.append_events(events, keep_from)
        except Exception:
            log.exception("storing events failed", extra={"events": len(events)})
            self._settle(batch, keep_from, stored=False)
            return
        self._settle(batch, keep_from, stored=True)
        if self._closing:
            self._wake.set()  # let the loop see it is done once the queue is empty

    def _keep_from(self, last_sequence: int) -> int:
        """The retention bound once `last_sequence` is stored: the lowest sequence kept."""
        return max(last_sequence - self._retention_count + 1, 0)

    def reserve(self, events: Sequence[Envelope]) -> Reservation | None:
        """Sequences for `events` that the caller stores itself, in its own transaction; it must
        `settle` the reservation whatever happens, since later events wait for it. None when the
        bus is closing (the events are dropped and counted, as `publish_nowait` does)."""
        if self._closing:
            self.dropped += len(events)
            log.warning("events dropped", extra={"events": len(events), "error": "the event bus is closing"})
            return None
        first = self._next
        self._next += len(events)
        stored = [sequenced(event, first + index) for index, event in enumerate(events)]
        return Reservation(stored, self._keep_from(self._next - 1))

    def settle(self, reservation: Reservation, *, stored: bool) -> None:
        """The reserved events are durable (`stored`), or will never be: they take their turn."""
        self._settle([(event, None) for event in reservation.events], reservation.keep_from, stored=stored)

    def _settle(
        self, batch: list[tuple[Envelope, asyncio.Future[None] | None]], keep_from: int, *, stored: bool
    ) -> None:
        """Record `batch` as settled, in runs of consecutive sequences (a batch of publishes may
        straddle a reservation), and advance over every run whose turn has come."""
        start = 0
        for index in range(1, len(batch) + 1):
            if index == len(batch) or batch[index][0].sequence != batch[index - 1][0].sequence + 1:
                run = batch[start:index]
                self._settled[run[0][0].sequence] = (run, keep_from, stored)
                start = index
        while (settled := self._settled.pop(self._through + 1, None)) is not None:
            self._advance(*settled)

    def _advance(
        self, run: list[tuple[Envelope, asyncio.Future[None] | None]], keep_from: int, stored: bool
    ) -> None:
        """The head moves over `run` (stored: its events go out to subscribers and their
        publishers hear it; failed: its publishers hear that)."""
        self._through = run[-1][0].sequence
        if stored:
            self._head = self._through
            self._oldest = max(self._oldest or run[0][0].sequence, keep_from)
            self.published += len(run)
            for event, _ in run:
                self._fan_out(event)
        for _, done in run:
            if done is None or done.done():
                continue
            if stored:
                done.set_result(None)
            else:
                done.set_exception(
                    Unavailable("the event log could not be written", reason=Reason.EVENT_LOG_FAILED)
                )

    def _fan_out(self, event: Envelope) -> None:
        reached = self._live_topics.match(event.name)
        cut = [s for s in reached if s.filter.matches_fields(event) and not s.offer(event)]
        self.dropped += len(cut)
        for subscription in cut:
            self.forget(subscription)  # its slot is free at once, not when its connection closes

    async def _age_loop(self) -> None:
        interval = min(max(self._retention_seconds / 10, 0.01), 60.0)
        while True:
            await asyncio.sleep(interval)
            try:
                bounds = await self.log.trim_events(self._clock() - self._retention_seconds)
            except Exception:
                log.exception("trimming old events failed; retrying at the next interval")
                continue
            self._oldest = bounds.oldest

    # ----------------------------------------------------------------- subscribing

    async def subscribe(
        self,
        event_filter: EventFilter,
        *,
        after_sequence: int | None = None,
        start_time: float | None = None,
        caller: str = "",
    ) -> Subscription:
        """A subscription starting after `after_sequence`, or at `start_time`, or (neither) at the
        next event published; it holds one of `caller`'s subscription slots until it ends."""
        if self._closing:
            raise shutting_down()
        self._slots.check(caller)  # refuse early, before any read; taken for real below
        if after_sequence is not None and after_sequence < 0:
            raise InvalidArgument("after_sequence", "must be >= 0")
        if after_sequence is not None:
            start = min(after_sequence, self._head)
        elif start_time is not None:
            first = await self.log.first_sequence_at(start_time)
            start = self._head if first is None else min(first - 1, self._head)
        else:
            start = self._head
        self._slots.take(caller)  # synchronously with joining the set: no await in between
        subscription = Subscription(self, event_filter, start, self._subscriber_buffer, caller)
        self._subscribers.add(subscription)
        return subscription

    def go_live(self, subscription: Subscription) -> None:
        if subscription in self._subscribers and subscription not in self._live:
            self._live.add(subscription)
            for pattern in subscription.filter.patterns:
                self._live_topics.add(pattern, subscription)

    def forget(self, subscription: Subscription) -> None:
        """Release the subscription's slot and stop offering it events. Idempotent."""
        if subscription in self._subscribers:
            self._subscribers.discard(subscription)
            self._slots.give_back(subscription.caller)
        if subscription in self._live:
            self._live.discard(subscription)
            for pattern in subscription.filter.patterns:
                self._live_topics.remove(pattern, subscription)

    # ----------------------------------------------------------------- history

    async def list_events(self, query: EventQuery, page_size: int, page_token: str) -> EventPage:
        """One page of stored events matching `query`, scanning at most LIST_SCAN_LIMIT of them."""
        size = validation.page_size(page_size)
        if query.after_sequence < 0:
            raise InvalidArgument("after_sequence", "must be >= 0")
        scope = query.scope()
        head = self._head
        low, high = await self._bounds(query, head, _resume_point(page_token, scope))
        found, last, more = await self._scan(query, low, high, size)
        return EventPage(found, paging.encode((str(last),), scope) if more else "", head)

    async def _bounds(self, query: EventQuery, head: int, resumed: int | None) -> tuple[int, int]:
        """Exclusive sequence bounds (low, high) of the query, never past the durable head."""
        low, high = 0, head + 1
        if query.start_time:
            first = await self.log.first_sequence_at(query.start_time)
            low = head if first is None else first - 1
        if query.end_time:
            first = await self.log.first_sequence_at(query.end_time)
            high = high if first is None else min(high, first)
        for bound in (query.after_sequence or None, resumed):
            if bound is None:
                continue
            if query.newest_first:
                high = min(high, bound)
            else:
                low = max(low, bound)
        return low, high

    async def _scan(
        self, query: EventQuery, low: int, high: int, size: int
    ) -> tuple[list[Envelope], int, bool]:
        """Up to `size` matching events strictly between `low` and `high`, in the query's order;
        the last sequence examined; and whether events may remain beyond it."""
        found: list[Envelope] = []
        scanned = last = 0
        while scanned < LIST_SCAN_LIMIT:
            page = await self.log.read_events(low, high, _LIST_READ, query.newest_first)
            for event in page:
                scanned += 1
                last = event.sequence
                if query.filter.matches(event):
                    found.append(event)
                    if len(found) == size:
                        return found, last, True
            if len(page) < _LIST_READ:
                return found, last, False
            if query.newest_first:
                high = last
            else:
                low = last
        return found, last, True


def _resume_point(page_token: str, scope: str) -> int | None:
    """The last sequence the previous page examined, or None for the first page."""
    position = paging.decode(page_token, scope, 1)
    if position is None:
        return None
    if _SEQUENCE.fullmatch(position[0]) is None:
        raise InvalidArgument(paging.FIELD, "malformed page token")
    return int(position[0])
