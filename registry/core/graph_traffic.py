"""Observed edges: what the relay carried between services, per (source, target, kind).

The relay calls `Traffic.record` once per Send (after the reply or the error) and the event
subscription calls it once per event delivered to a subscriber. Each edge is an `EdgeWindows`
(fixed memory, see graph_window). The number of edges is bounded in total (`max_edges`) and per
source service (`max_edges_per_source`), because a sender can invent target names: a message
that would open an edge beyond a bound is not counted on any edge, only in `dropped`. When the
total bound is reached, an edge idle for longer than the longest window is reused first (looked
for at most once per 10 s, so a sender spraying new names costs no scan per message).

The heartbeat path never comes here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from registry.core.graph_window import WINDOW_SECONDS, EdgeWindows, Window, WindowStats
from registry.core.messages import MessageType

EdgeKey = tuple[str, str, MessageType]
"""(source service, target service, message kind). The source is "" when the sender is anonymous
(auth off and no x-source-service header)."""

_IDLE_SECONDS = WINDOW_SECONDS[Window.SIXTY_MINUTES] + 60.0
_SCAN_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class ObservedEdge:
    source: str
    target: str
    kind: MessageType
    stats: WindowStats


class Traffic:
    """See the module docstring. `clock` is monotonic seconds (injected in tests)."""

    def __init__(
        self,
        *,
        max_edges: int = 1024,
        max_edges_per_source: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edges: dict[EdgeKey, EdgeWindows] = {}
        self._per_source: dict[str, int] = {}
        self._max_edges = max_edges
        self._max_per_source = max_edges_per_source
        self._clock = clock
        self._next_scan = 0.0
        self.dropped = 0
        """Messages not counted because their edge would have exceeded a bound."""

    def __len__(self) -> int:
        return len(self._edges)

    def record(self, source: str, target: str, kind: MessageType, code: int, seconds: float) -> None:
        """Count one message from `source` to `target` that ended with status `code` (0 is OK)
        after `seconds`."""
        now = self._clock()
        edge = self._edges.get((source, target, kind))
        if edge is None:
            edge = self._open((source, target, kind), now)
            if edge is None:
                self.dropped += 1
                return
        edge.record(now, code, seconds)

    def _open(self, key: EdgeKey, now: float) -> EdgeWindows | None:
        source = key[0]
        if self._per_source.get(source, 0) >= self._max_per_source:
            return None
        if len(self._edges) >= self._max_edges and not self._evict_idle(now):
            return None
        edge = self._edges[key] = EdgeWindows()
        self._per_source[source] = self._per_source.get(source, 0) + 1
        return edge

    def _evict_idle(self, now: float) -> bool:
        """Forget the edges idle for longer than the longest window; False when none is (or when
        the last look was under 10 s ago)."""
        if now < self._next_scan:
            return False
        self._next_scan = now + _SCAN_INTERVAL
        idle = [key for key, edge in self._edges.items() if now - edge.last_seen > _IDLE_SECONDS]
        for key in idle:
            del self._edges[key]
            left = self._per_source[key[0]] - 1
            if left:
                self._per_source[key[0]] = left
            else:
                del self._per_source[key[0]]
        return bool(idle)

    def edges(self, window: Window) -> Iterator[ObservedEdge]:
        """Every edge that carried at least one message during `window`."""
        now = self._clock()
        for (source, target, kind), edge in list(self._edges.items()):
            stats = edge.stats(now, window)
            if stats.count:
                yield ObservedEdge(source, target, kind, stats)

    def rows(self, window: Window) -> Iterator[tuple[EdgeKey, list[int]]]:
        """Each active edge's window totals (bucket counts, then code counts): what a replica
        shares with the others in cluster mode (graph_share)."""
        now = self._clock()
        for key, edge in list(self._edges.items()):
            if now - edge.last_seen <= WINDOW_SECONDS[window] + 60.0:
                row = edge.totals(now, window)
                if any(row):
                    yield key, row

    def totals(self) -> Iterator[tuple[EdgeKey, int, int]]:
        """(edge, status code, messages) since the edge was first seen, codes with messages only:
        the counters the metrics read at scrape time."""
        for key, edge in list(self._edges.items()):
            for code, count in enumerate(edge.codes):
                if count:
                    yield key, code, count

    def quantiles(self, window: Window) -> Iterator[tuple[EdgeKey, WindowStats]]:
        """Each active edge's stats over `window` (the metrics' latency gauges)."""
        now = self._clock()
        for key, edge in list(self._edges.items()):
            stats = edge.stats(now, window)
            if stats.count:
                yield key, stats
