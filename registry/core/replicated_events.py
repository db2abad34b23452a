"""The event bus of cluster mode: events published on any replica reach subscribers on every
replica, in one global sequence order, durably.

The replica does not number events: the replicated log does (etcd's revision of each event's
write). Publishing stores the event and acknowledges the publisher with its sequence once it is
durable; delivery to live subscribers does not happen there but from one follower task per
replica that reads every event any replica stored, in sequence order, advances the head and fans
each event out. Subscriptions are unchanged (registry.core.events): they replay from the log up
to the head, then join the live set in the same synchronous step, so resume by sequence works on
any replica with a sequence another one gave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import cast

from registry.core.errors import Reason, Unavailable
from registry.core.events import BusSettings, EventBus
from registry.core.messages import Envelope
from registry.core.ports import EventLog, ReplicatedEventLog

log = logging.getLogger(__name__)


class ReplicatedEventBus(EventBus):
    """See the module docstring."""

    def __init__(
        self, log_store: ReplicatedEventLog, settings: BusSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        # The base class's log calls that differ (append, trim) are overridden here.
        super().__init__(cast(EventLog, log_store), settings, clock=clock)
        self._replicated = log_store
        self._stored: dict[asyncio.Future[None], Envelope] = {}
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        bounds = await self._replicated.open()
        self._head, self._oldest = bounds.newest, bounds.oldest
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="event-writer"),
            asyncio.create_task(self._age_loop(), name="event-retention"),
        ]
        self._follower = asyncio.create_task(self._follow(), name="event-follower")
        log.info("event log opened", extra={"oldest": self._oldest, "head": self._head, "replicated": True})

    async def close(self) -> None:
        await super().close()
        if self._follower is not None:
            self._follower.cancel()
            with suppress(asyncio.CancelledError):
                await self._follower

    async def publish(self, event: Envelope) -> Envelope:
        done = asyncio.get_running_loop().create_future()
        self._enqueue(event, done)
        try:
            await asyncio.shield(done)
        finally:
            stored = self._stored.pop(done, event)
        return stored

    async def _commit(self, batch: list[tuple[Envelope, asyncio.Future[None] | None]]) -> None:
        try:
            stored = await self._replicated.append([event for event, _ in batch])
        except Exception as error:
            log.warning("storing events failed", extra={"events": len(batch), "error": str(error)})
            for _, done in batch:
                if done is not None and not done.done():
                    done.set_exception(
                        Unavailable("the event log could not be written", reason=Reason.EVENT_LOG_FAILED)
                    )
            return
        for (_, done), event in zip(batch, stored, strict=True):
            if done is not None and not done.done():
                self._stored[done] = event
                done.set_result(None)
        if self._closing:
            self._wake.set()

    async def _follow(self) -> None:
        async for item in self._replicated.follow(self._head):
            if isinstance(item, int):
                self._head = max(self._head, item)
                continue
            self._head = max(self._head, item.sequence)
            self._oldest = self._oldest or item.sequence
            self._fan_out(item)

    async def _age_loop(self) -> None:
        interval = min(max(self._retention_seconds / 10, 0.01), 60.0)
        while True:
            await asyncio.sleep(interval)
            try:
                bounds = await self._replicated.trim(
                    self._clock() - self._retention_seconds, self._retention_count
                )
            except Exception as error:
                log.warning("trimming old events failed; retrying later", extra={"error": str(error)})
                continue
            self._oldest = bounds.oldest
