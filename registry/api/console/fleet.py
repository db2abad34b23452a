"""The fleet feed: what one open console page is pushed, from the catalog's own watch.

A page gets one catalog watcher over every service: a snapshot (or, when it reconnects with the
last revision it saw, just the changes it missed), then every change as the catalog publishes it,
batched as the watcher batches them. Nothing is polled per instance; work is O(changes).

The liveness summary (self-preservation, startup grace, open heartbeat streams) is not a catalog
change, so it is sampled: `SummaryCache` computes it at most once per `SUMMARY_INTERVAL` for all
pages together, and each page is sent it only when it differs from what that page last got.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from registry.api.console import encode
from registry.api.console.push import EventStream
from registry.core.catalog import Catalog
from registry.core.errors import ResourceExhausted, Unavailable
from registry.core.liveness import Liveness

SUMMARY_INTERVAL = 1.0
"""Seconds between liveness summaries (and the watcher's quiet-time tick)."""


class SummaryCache:
    """The liveness summary, recomputed at most once per `max_age` however many pages ask."""

    def __init__(
        self,
        liveness: Liveness,
        max_age: float = SUMMARY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._liveness = liveness
        self._max_age = max_age
        self._clock = clock
        self._value: encode.JSON | None = None
        self._at = 0.0

    def get(self) -> encode.JSON:
        now = self._clock()
        if self._value is None or now - self._at >= self._max_age:
            self._value = encode.summary(self._liveness.summary())
            self._at = now
        return self._value


class FleetFeed:
    """Runs the fleet feed of one page until the page goes, is cut, or the registry stops."""

    def __init__(self, catalog: Catalog, summaries: SummaryCache) -> None:
        self._catalog = catalog
        self._summaries = summaries

    async def run(self, stream: EventStream, after_revision: int) -> None:
        watcher = self._catalog.watch(frozenset(), after_revision)
        try:
            start = watcher.start
            if start.snapshot is not None:
                await stream.send(
                    "snapshot",
                    {"revision": start.revision, "instances": [encode.instance(i) for i in start.snapshot]},
                )
            else:
                await stream.send(
                    "changes",
                    {"revision": start.revision, "changes": [encode.change(c) for c in start.replay]},
                )
            sent = self._summaries.get()
            await stream.send("summary", sent)
            next_summary = time.monotonic() + SUMMARY_INTERVAL
            try:
                async for batch in watcher.batches(SUMMARY_INTERVAL):
                    if batch:
                        changes = [encode.change(c) for c in batch]
                        await stream.send("changes", {"revision": watcher.revision, "changes": changes})
                    if time.monotonic() >= next_summary:
                        next_summary = time.monotonic() + SUMMARY_INTERVAL
                        summary = self._summaries.get()
                        if summary != sent:
                            await stream.send("summary", summary)
                            sent = summary
                    await stream.keepalive()
            except ResourceExhausted as error:  # fell behind: the page resumes from its revision
                await stream.send("cut", {"message": error.message, "revision": watcher.revision})
            except Unavailable:
                await stream.send("bye", {"message": "the registry is shutting down"})
        finally:
            watcher.close()
