"""Watch through a real server: snapshot, ordered events, isolation per service, resume,
compaction, slow watchers, progress, limits and shutdown."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from registry.core.model import HealthStatus
from tests.conftest import StartRegistry
from tests.helpers.registry_api import Stub, error_reason, register, stub
from tests.helpers.streams import StreamingCall, read

SNAPSHOT = pb.WATCH_RESPONSE_KIND_SNAPSHOT
EVENTS = pb.WATCH_RESPONSE_KIND_EVENTS
PROGRESS = pb.WATCH_RESPONSE_KIND_PROGRESS
QUIET_MS = 60_000  # a progress interval that never fires within a test


def _watch(
    api: Stub, *services: str, after: int = 0, progress_ms: int = QUIET_MS
) -> grpc.aio.UnaryStreamCall[pb.WatchRequest, pb.WatchResponse]:
    request = pb.WatchRequest(service_names=services, after_revision=after, progress_interval_ms=progress_ms)
    return api.Watch(request)


async def _read(call: StreamingCall) -> pb.WatchResponse:
    return await asyncio.wait_for(read(call, pb.WatchResponse), 5)


async def _events(call: Any, count: int) -> list[pb.WatchEvent]:
    """Read EVENTS responses until `count` events came; every response's revision covers its
    events."""
    events: list[pb.WatchEvent] = []
    while len(events) < count:
        response = await _read(call)
        assert response.kind == EVENTS
        assert response.revision >= response.events[-1].revision
        events.extend(response.events)
    assert len(events) == count
    return events


def _summary(events: list[pb.WatchEvent]) -> list[tuple[int, str]]:
    return [(e.type, e.instance.instance_id) for e in events]


async def _current_revision(api: Stub) -> int:
    return (await api.ListServices(pb.ListServicesRequest())).revision


async def test_snapshot_then_every_change_in_order(registry: Registry, channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api, "alpha", "a1")
    await register(api, "alpha", "a2")
    await register(api, "beta", "b1")
    call = _watch(api)

    snapshot = await _read(call)
    await register(api, "alpha", "a3")
    await register(api, "alpha", "a1", version="2.0.0")
    registry.catalog.set_status(("alpha", "a2"), HealthStatus.HEALTHY)
    await api.Deregister(pb.DeregisterRequest(service_name="beta", instance_id="b1"))
    events = await _events(call, 4)

    assert snapshot.kind == SNAPSHOT
    assert (snapshot.revision, snapshot.compact_revision, snapshot.snapshot_continues) == (3, 0, False)
    assert [(e.type, e.instance.service_name, e.instance.instance_id) for e in snapshot.events] == [
        (pb.WATCH_EVENT_TYPE_ADDED, "alpha", "a1"),
        (pb.WATCH_EVENT_TYPE_ADDED, "alpha", "a2"),
        (pb.WATCH_EVENT_TYPE_ADDED, "beta", "b1"),
    ]
    assert _summary(events) == [
        (pb.WATCH_EVENT_TYPE_ADDED, "a3"),
        (pb.WATCH_EVENT_TYPE_UPDATED, "a1"),
        (pb.WATCH_EVENT_TYPE_STATUS_CHANGED, "a2"),
        (pb.WATCH_EVENT_TYPE_REMOVED, "b1"),
    ]
    assert [e.revision for e in events] == [4, 5, 6, 7]
    assert events[1].instance.version == "2.0.0"
    assert events[2].previous_status == ipb.HEALTH_STATUS_UNKNOWN
    assert events[2].instance.status == ipb.HEALTH_STATUS_HEALTHY
    call.cancel()


async def test_large_snapshot_comes_in_chunks(registry: Registry, channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await asyncio.gather(*(register(api, f"svc-{n % 3}", f"i-{n:04d}") for n in range(1001)))
    revision = await _current_revision(api)
    call = _watch(api)

    chunks = [await _read(call) for _ in range(3)]

    assert [len(c.events) for c in chunks] == [500, 500, 1]
    assert [c.snapshot_continues for c in chunks] == [True, True, False]
    assert {(c.kind, c.revision) for c in chunks} == {(SNAPSHOT, revision)}
    keys = [(e.instance.service_name, e.instance.instance_id) for c in chunks for e in c.events]
    assert keys == sorted(keys)
    assert len(set(keys)) == 1001
    call.cancel()


async def test_fat_instances_are_chunked_by_size(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    metadata = {f"k{n}": "v" * 500 for n in range(20)}  # about 10 KB per instance
    for n in range(60):
        await register(api, "fat", f"i-{n:02d}", metadata=metadata)
    call = _watch(api)

    chunks: list[pb.WatchResponse] = []
    while not chunks or chunks[-1].snapshot_continues:
        chunks.append(await _read(call))

    assert len(chunks) >= 3
    assert all(c.ByteSize() < 300 * 1024 for c in chunks)
    assert sum(len(c.events) for c in chunks) == 60
    call.cancel()


async def test_churn_in_one_service_never_wakes_a_watcher_of_another(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    api = stub(channel)
    alpha_watch = _watch(api, "alpha")
    beta_watch = _watch(api, "beta")  # the control: the churn is real and visible
    await _read(alpha_watch)
    await _read(beta_watch)
    alpha_next = asyncio.ensure_future(_read(alpha_watch))

    for n in range(30):
        await register(api, "beta", f"b{n}")
        registry.catalog.set_status(("beta", f"b{n}"), HealthStatus.HEALTHY)
    await api.Deregister(pb.DeregisterRequest(service_name="beta", instance_id="b0"))
    beta_events = await _events(beta_watch, 61)
    await asyncio.sleep(0.2)
    woken_by_churn = alpha_next.done()
    await register(api, "alpha", "a1")
    first_alpha = await asyncio.wait_for(alpha_next, 5)

    assert len(beta_events) == 61
    assert not woken_by_churn
    assert first_alpha.kind == EVENTS
    assert _summary(list(first_alpha.events)) == [(pb.WATCH_EVENT_TYPE_ADDED, "a1")]
    assert first_alpha.revision == first_alpha.events[0].revision == await _current_revision(api)
    alpha_watch.cancel()
    beta_watch.cancel()


async def test_resume_after_reconnect_replays_exactly_what_was_missed(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    api = stub(channel)
    await register(api, "orders", "o1")
    first = _watch(api, "orders")
    await _read(first)
    await register(api, "orders", "o0")
    (seen,) = await _events(first, 1)
    first.cancel()

    await register(api, "orders", "o2")
    await register(api, "payments", "p1")  # not watched: must not be replayed
    await register(api, "orders", "o1", version="1.1.0")
    registry.catalog.set_status(("orders", "o2"), HealthStatus.HEALTHY)
    await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="o1"))
    resumed = _watch(api, "orders", after=seen.revision)
    replay = await _read(resumed)
    await register(api, "orders", "o3")
    (live,) = await _events(resumed, 1)

    assert replay.kind == EVENTS
    assert _summary(list(replay.events)) == [
        (pb.WATCH_EVENT_TYPE_ADDED, "o2"),
        (pb.WATCH_EVENT_TYPE_UPDATED, "o1"),
        (pb.WATCH_EVENT_TYPE_STATUS_CHANGED, "o2"),
        (pb.WATCH_EVENT_TYPE_REMOVED, "o1"),
    ]
    revisions = [e.revision for e in replay.events]
    assert revisions == sorted(revisions)
    assert revisions[0] > seen.revision
    assert replay.revision == revisions[-1]
    assert _summary([live]) == [(pb.WATCH_EVENT_TYPE_ADDED, "o3")]
    assert live.revision == replay.revision + 1
    resumed.cancel()


async def test_resume_with_nothing_missed_starts_with_progress(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await register(api, "orders", "o1")
    revision = await _current_revision(api)
    await register(api, "payments", "p1")

    call = _watch(api, "orders", after=revision)
    first = await _read(call)

    assert (first.kind, first.revision, list(first.events)) == (PROGRESS, revision + 1, [])
    call.cancel()


async def test_too_old_or_unknown_revision_gets_compact_revision_and_snapshot(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry(watch_history=5)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        for n in range(10):
            await register(api, "orders", f"o{n}")  # revisions 1-10; history keeps 6-10
        too_old = _watch(api, "orders", after=2)
        oldest_kept = _watch(api, "orders", after=5)
        from_the_future = _watch(api, "orders", after=1_000)
        old_start, kept_start, future_start = [
            await _read(c) for c in (too_old, oldest_kept, from_the_future)
        ]
        for call in (too_old, oldest_kept, from_the_future):
            call.cancel()

    assert (old_start.kind, old_start.compact_revision, old_start.revision) == (SNAPSHOT, 5, 10)
    assert [e.instance.instance_id for e in old_start.events] == [f"o{n}" for n in range(10)]
    assert (kept_start.kind, kept_start.compact_revision) == (EVENTS, 0)
    assert [e.revision for e in kept_start.events] == [6, 7, 8, 9, 10]
    assert (future_start.kind, future_start.compact_revision, len(future_start.events)) == (SNAPSHOT, 5, 10)


async def test_slow_watcher_is_cut_and_resumes_without_loss(start_registry: StartRegistry) -> None:
    registry = await start_registry(watch_buffer=4)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        await register(api, "orders", "o1")
        call = _watch(api, "orders")
        start = await _read(call)
        flips = [HealthStatus.HEALTHY, HealthStatus.DEGRADED] * 5
        for status in flips:  # ten changes in one go: more than the watcher may queue
            registry.catalog.set_status(("orders", "o1"), status)

        with pytest.raises(grpc.aio.AioRpcError) as cut:
            await _read(call)
        resumed = _watch(api, "orders", after=start.revision)
        replay = await _read(resumed)
        resumed.cancel()

    assert cut.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(cut.value) == "WATCHER_FELL_BEHIND"
    assert f"after_revision={start.revision}" in (cut.value.details() or "")
    assert replay.kind == EVENTS
    assert [e.revision for e in replay.events] == list(range(start.revision + 1, start.revision + 11))
    assert [e.instance.status for e in replay.events] == [int(s) for s in flips]


async def test_progress_when_quiet_covers_other_services_changes(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    opened = time.monotonic()  # each progress waits a full quiet interval after the one before
    call = _watch(api, "alpha", progress_ms=100)
    start = await _read(call)
    await register(api, "beta", "b1")

    # Under load the register can outlast an interval: progress at revision 0 may come first.
    progress = [await _read(call)]
    while sum(p.revision == 1 for p in progress) < 3:
        progress.append(await _read(call))
    elapsed = time.monotonic() - opened
    await register(api, "alpha", "a1")
    change = await _read(call)
    late: list[int] = []  # progress sent while alpha's Register was on its way
    while change.kind == PROGRESS and len(late) < 10:
        late.append(change.revision)
        change = await _read(call)

    assert start.revision == 0
    assert set(late) <= {1}
    assert all(p.kind == PROGRESS for p in progress)
    revisions = [p.revision for p in progress]
    assert revisions == sorted(revisions)
    assert set(revisions) <= {0, 1}  # beta's change is behind us
    assert elapsed >= len(progress) * 0.1 - 0.01  # never more often than the interval
    assert (change.kind, change.revision, change.events[0].instance.instance_id) == (EVENTS, 2, "a1")
    call.cancel()


async def test_watcher_limit_is_enforced_and_freed_on_cancel(start_registry: StartRegistry) -> None:
    registry = await start_registry(max_watchers=2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        first, second = _watch(api), _watch(api)
        await _read(first)
        await _read(second)

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _read(_watch(api))
        first.cancel()
        deadline = time.monotonic() + 5
        while True:  # the server notices the cancel asynchronously
            third = _watch(api)
            try:
                opened = await _read(third)
                break
            except grpc.aio.AioRpcError:
                assert time.monotonic() < deadline, "the cancelled watcher was never released"
                await asyncio.sleep(0.01)
        third.cancel()
        second.cancel()

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(refused.value) == "TOO_MANY_WATCHERS"
    assert opened.kind == SNAPSHOT


async def test_shutdown_ends_watches_with_unavailable(registry: Registry, channel: grpc.aio.Channel) -> None:
    call = _watch(stub(channel))
    await _read(call)

    stopping = asyncio.ensure_future(registry.stop(grace=5))
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await _read(call)
    await asyncio.wait_for(stopping, 5)

    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
