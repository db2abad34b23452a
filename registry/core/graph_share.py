"""The observed graph of a whole cluster: every replica's share, merged on the replica asked.

Each replica counts only the messages it relayed (graph_traffic). Every few seconds (`interval`,
a background task: never per message, never on the heartbeat path) it sends a compact summary of
its edges through the `GraphShare` port, which keeps it on the replica's lease (a dead replica's
share goes with it), and takes back the other replicas' latest summaries. A graph request adds
those to the local windows, field by field: a window's row (counts per fixed latency bucket and
per status code) of the union of the replicas is the sum of their rows.

A summary holds, per edge, the row of each window as it stood when it was written, so a remote
share is at most one interval (plus the exchange) behind; summaries older than `max_age` (a
replica that stopped writing but kept its lease) are ignored. A summary is bounded to
`MAX_SUMMARY_BYTES`: the busiest edges (60-minute count) go first, the rest are counted as
dropped, like the messages the traffic bounds refuse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

from registry.core.graph_traffic import EdgeKey, ObservedEdge, Traffic
from registry.core.graph_window import BUCKETS, FIELDS, Window, stats_of
from registry.core.messages import MessageType
from registry.core.ports import GraphShare

log = logging.getLogger(__name__)

SHARE_INTERVAL = 5.0
MAX_SUMMARY_BYTES = 256 * 1024
"""Far below etcd's default request limit (1.5 MiB); about 1,000 busy edges fit."""
_ORDER = (Window.ONE_MINUTE, Window.FIVE_MINUTES, Window.SIXTY_MINUTES)


def _sparse(row: list[int]) -> list[int]:
    """[field, count, field, count, ...] of the non-zero fields of a row."""
    return [n for field, count in enumerate(row) if count for n in (field, count)]


def _dense(pairs: list[int]) -> list[int]:
    row = [0] * FIELDS
    for at in range(0, len(pairs) - 1, 2):
        field, count = int(pairs[at]), int(pairs[at + 1])
        if 0 <= field < FIELDS and count > 0:
            row[field] = count
    return row


class SharedTraffic:
    """The observed edges of the whole cluster: this replica's `Traffic` plus the other replicas'
    latest summaries. Has the `edges` and `dropped` that DependencyGraph reads from a Traffic."""

    def __init__(
        self,
        traffic: Traffic,
        share: GraphShare,
        *,
        interval: float = SHARE_INTERVAL,
        max_age: float = 60.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._traffic = traffic
        self._share = share
        self._interval = interval
        self._max_age = max(max_age, 3 * interval)
        self._wall = wall
        self._remote: dict[EdgeKey, list[list[int]]] = {}
        self._remote_dropped = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def dropped(self) -> int:
        return self._traffic.dropped + self._remote_dropped

    def summary(self) -> bytes:
        """This replica's edges, one row per window, busiest first, within MAX_SUMMARY_BYTES."""
        rows: dict[EdgeKey, list[list[int]]] = {}
        for index, window in enumerate(_ORDER):
            for key, row in self._traffic.rows(window):
                rows.setdefault(key, [[], [], []])[index] = row
        busiest = sorted(rows.items(), key=lambda item: -sum(item[1][2][:BUCKETS]))
        parts: list[str] = []
        size = 0
        left_out = 0
        for (source, target, kind), per_window in busiest:
            part = json.dumps(
                [source, target, int(kind), [_sparse(r) for r in per_window]], separators=(",", ":")
            )
            if size + len(part) + 1 > MAX_SUMMARY_BYTES:
                left_out += sum(per_window[2][:BUCKETS])
                continue
            parts.append(part)
            size += len(part) + 1
        head = json.dumps({"at": self._wall(), "dropped": self._traffic.dropped + left_out})
        return f'{head[:-1]},"edges":[{",".join(parts)}]}}'.encode()

    async def exchange(self) -> None:
        """Publish this replica's summary and take in the others' (what the task does each interval)."""
        summaries = await self._share.exchange(self.summary())
        remote: dict[EdgeKey, list[list[int]]] = {}
        dropped = 0
        oldest = self._wall() - self._max_age
        for raw in summaries:
            try:
                summary: dict[str, Any] = json.loads(raw)
                if float(summary["at"]) < oldest:
                    continue
                dropped += int(summary["dropped"])
                for source, target, kind, per_window in summary["edges"]:
                    merged = remote.setdefault(
                        (str(source), str(target), MessageType(kind)), [[0] * FIELDS for _ in _ORDER]
                    )
                    for index, pairs in enumerate(per_window[: len(_ORDER)]):
                        merged[index] = [a + b for a, b in zip(merged[index], _dense(pairs), strict=True)]
            except (ValueError, TypeError, KeyError) as error:
                log.warning("a replica's graph summary is unreadable; skipped", extra={"error": str(error)})
        self._remote = remote
        self._remote_dropped = dropped

    def edges(self, window: Window) -> Iterator[ObservedEdge]:
        """Every edge that carried at least one message during `window` on any replica."""
        index = _ORDER.index(window)
        rows = dict(self._traffic.rows(window))
        for key, per_window in self._remote.items():
            local = rows.get(key)
            rows[key] = (
                per_window[index]
                if local is None
                else [a + b for a, b in zip(local, per_window[index], strict=True)]
            )
        for (source, target, kind), row in rows.items():
            stats = stats_of(row)
            if stats.count:
                yield ObservedEdge(source, target, kind, stats)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="graph-share")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.exchange()
            except Exception as error:  # etcd away: the local share still answers; retry next interval
                log.warning("graph summary exchange failed", extra={"error": str(error)})
            await asyncio.sleep(self._interval)
