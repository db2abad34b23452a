"""The cluster-mode event log: one etcd key per event, sequenced by etcd's revision.

    <prefix>/events/<create time, ns, 20 digits>-<event id>   -> JSON of the envelope

An event's sequence is the revision of its put (its create_revision), so every replica sees one
global order, gap-tolerant (other keys take revisions in between) and monotonic. Events are put
one per write, concurrently: etcd batches concurrent proposals into its raft log itself, and one
write per event is what gives each its own revision. Keys start with the creation time, so age
retention is one range delete and `first_sequence_at` one range read. Count retention deletes the
oldest keys beyond the limit; every replica may run it (deletes are idempotent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from registry.core.messages import Envelope
from registry.core.ports import EventBounds
from registry.store import records
from registry.store.etcd_client import (
    EtcdClient,
    KeyValue,
    WatchCompacted,
    follow,
    prefix_end,
)
from registry.store.sqlite_events import EVENT_COLUMNS, event_from_row, event_to_row, readable_events

log = logging.getLogger(__name__)


def _encode(event: Envelope) -> bytes:
    values = dict(zip(EVENT_COLUMNS, event_to_row(event), strict=True))
    del values["sequence"]
    payload = values.pop("payload")
    values["payload"] = payload.hex()
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def _decode(kv: KeyValue) -> Envelope:
    """The event a value holds; `CorruptRecord` naming the fault when it holds none."""
    values = records.json_object(kv.value, "the value")
    try:
        values["payload"] = bytes.fromhex(records.text(values, "payload"))
    except ValueError as error:
        raise records.CorruptRecord(f"payload: {error}") from None
    values["sequence"] = kv.create_revision
    return event_from_row(tuple(records.field(values, c) for c in EVENT_COLUMNS))


def _key_of(kv: KeyValue) -> str:
    return records.shown(kv.key.decode("utf-8", "replace"))


def _revision(kv: KeyValue) -> int:
    return int(kv.create_revision)


def _time_key(seconds: float) -> str:
    return f"{max(0, int(seconds * 1e9)):020d}"


class EtcdEventLog:
    """The replicated event log. `append` returns the events with their sequences; `follow`
    yields every event any replica appends, in sequence order (or a progress revision)."""

    def __init__(self, client: EtcdClient, prefix: str) -> None:
        self._client = client
        self._root = f"{prefix.rstrip('/')}/events/".encode()
        self._end = prefix_end(self._root)

    async def open(self) -> EventBounds:
        await self._client.authenticate()
        oldest = await self._client.range(self._root, self._end, limit=1, sort_create_ascending=True)
        newest = await self._client.range(self._root, self._end, limit=1, sort_create_descending=True)
        return EventBounds(
            int(oldest.kvs[0].create_revision) if oldest.kvs else 0,
            int(newest.kvs[0].create_revision) if newest.kvs else int(newest.header.revision),
        )

    async def append(self, events: Sequence[Envelope]) -> list[Envelope]:
        """Store each event durably; the events with their sequences (etcd revisions)."""
        revisions = await asyncio.gather(*(self._put(event) for event in events))
        return [replace(event, sequence=revision) for event, revision in zip(events, revisions, strict=True)]

    async def _put(self, event: Envelope) -> int:
        key = self._root + f"{_time_key(event.create_time)}-{event.id or uuid.uuid4().hex}".encode()
        return await self._client.put(key, _encode(event))

    async def read_events(
        self, after: int, before: int, limit: int, newest_first: bool = False
    ) -> list[Envelope]:
        async def values(after: int, before: int, limit: int) -> list[KeyValue]:
            response = await self._client.range(
                self._root,
                self._end,
                limit=limit,
                min_create_revision=after + 1,
                max_create_revision=max(before - 1, 0) if before > 0 else 0,
                sort_create_ascending=not newest_first,
                sort_create_descending=newest_first,
            )
            return [kv for kv in response.kvs if after < kv.create_revision < before]

        return await readable_events(
            values,
            _decode,
            sequence_of=_revision,
            name_of=_key_of,
            after=after,
            before=before,
            limit=limit,
            newest_first=newest_first,
        )

    async def first_sequence_at(self, time: float) -> int | None:
        start = self._root + _time_key(time).encode()
        response = await self._client.range(start, self._end, limit=1, keys_only=True)
        return int(response.kvs[0].create_revision) if response.kvs else None

    async def trim(self, created_before: float, keep: int) -> EventBounds:
        """Delete events created before `created_before`, then the oldest beyond `keep`."""
        await self._client.delete(self._root, self._root + _time_key(created_before).encode())
        counted = await self._client.range(self._root, self._end, count_only=True)
        excess = int(counted.count) - keep
        if excess > 0:
            oldest = await self._client.range(self._root, self._end, limit=excess, keys_only=True)
            await self._client.delete(self._root, oldest.kvs[-1].key + b"\0")
        return await self.open()

    async def follow(self, after: int) -> AsyncIterator[Envelope | int]:
        """Every event stored after sequence `after`, in order, forever; an int is a progress
        report (no event up to that revision)."""
        resume = after
        while True:
            try:
                async for events, revision in follow(self._client, self._root, self._end, resume, "events"):
                    resume = revision
                    for event in events:
                        if event.type == event.PUT and event.kv.version == 1:
                            try:
                                decoded = _decode(event.kv)
                            except records.CorruptRecord as error:
                                log.warning(
                                    "skipped an unreadable event in etcd; it stays there",
                                    extra={"key": _key_of(event.kv), "error": str(error)},
                                )
                                continue
                            yield decoded
                    if not events:
                        yield revision
            except WatchCompacted as compacted:
                log.warning("event history compacted; some events are skipped", extra={"from": resume})
                resume = compacted.revision - 1

    async def close(self) -> None:
        """The client belongs to the caller."""
