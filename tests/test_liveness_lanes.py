"""The liveness engine's timers on a manual clock: instances beating on time wait in one lane per
interval (no timer each), and only the ones that are really late are ever visited by a timer.

A real catalog (SQLite in a temporary folder) feeds a real engine; the clock only moves when the
test says, and `fire_due` applies what has come due, so nothing here sleeps or races the loop.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from registry.core.catalog import Catalog
from registry.core.errors import RegistryError
from registry.core.liveness import Binding, Directive, Liveness, LivenessSettings
from registry.core.liveness.lanes import Lane
from registry.core.liveness.record import InstanceState
from registry.core.model import (
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    HeartbeatPolicy,
    InstanceKey,
    Registration,
)
from registry.store.sqlite import SqliteStore
from tests.helpers.clock import ManualClock

H, DG, C, DEAD = HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.CRITICAL, HealthStatus.DEAD
POLICY = HeartbeatPolicy(interval=1.0, timeout=10.0, max_failures=3)
"""Missed at 1.5 s of silence, CRITICAL at 3.5 s, DEAD at 10.5 s."""
DEBOUNCE = 0.05


@dataclass
class Sink:
    """A heartbeat stream as liveness sees it, recording what it was told."""

    pushed: list[Directive] = field(default_factory=list)
    ended: RegistryError | None = None

    def push(self, directive: Directive) -> None:
        self.pushed.append(directive)

    def end(self, error: RegistryError, final: Directive | None = None) -> None:
        self.ended = error


class CountingLiveness(Liveness):
    """Counts the status evaluations (each one asks `may_judge` first): the work timers do."""

    evaluations = 0

    def may_judge(self, key: InstanceKey) -> bool:
        self.evaluations += 1
        return True


@dataclass
class World:
    catalog: Catalog
    liveness: CountingLiveness
    clock: ManualClock
    beats: dict[str, int] = field(default_factory=dict)

    async def register(self, instance_id: str, policy: HeartbeatPolicy = POLICY) -> InstanceKey:
        endpoint = Endpoint("api", "10.0.0.1", 8080, EndpointProtocol.GRPC)
        await self.catalog.register(Registration("orders", instance_id, (endpoint,), heartbeat_policy=policy))
        return ("orders", instance_id)

    async def bind(
        self, instance_id: str, policy: HeartbeatPolicy = POLICY, *, take_over: bool = False
    ) -> Binding:
        key = ("orders", instance_id)
        if self.liveness.state_of(key) is None:
            await self.register(instance_id, policy)
        self.beats[instance_id] = 0
        return self.liveness.bind(key, Sink(), take_over=take_over)

    def beat(self, instance_id: str, binding: Binding) -> HealthStatus:
        self.beats[instance_id] += 1
        return binding.beat(self.beats[instance_id])

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.liveness.fire_due()

    def status(self, instance_id: str) -> HealthStatus:
        return self.liveness.status(("orders", instance_id))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock()
    catalog = Catalog(
        SqliteStore(tmp_path / "registry.db"),
        history_limit=100,
        watcher_buffer=100,
        max_watchers=10,
        max_instances=10_000,
        persist_interval=0.01,
        clock=clock.wall,
    )
    await catalog.start()
    settings = LivenessSettings(startup_grace_seconds=0, stream_break_debounce=DEBOUNCE, reap_seconds=5.0)
    liveness = CountingLiveness(catalog, settings, clock)
    liveness.start()
    try:
        yield World(catalog, liveness, clock)
    finally:
        await liveness.stop()
        await catalog.close()


async def test_instances_beating_on_time_share_one_timer_and_no_evaluation(world: World) -> None:
    ids = [f"orders-{n}" for n in range(200)]
    bindings = {i: await world.bind(i) for i in ids}
    for i in ids:
        assert world.beat(i, bindings[i]) is H
    assert world.liveness.lanes == {1.0: 200}
    assert world.liveness.scheduled == 1  # the lane's head, not one deadline per instance
    evaluated = world.liveness.evaluations
    rng = random.Random(13)
    for _ in range(30):  # thirty intervals, every instance beating once in each, a little jittered
        order = [i for start in range(0, len(ids), 10) for i in rng.sample(ids[start : start + 10], 10)]
        for i in order:
            world.advance(1.0 / len(order))
            world.beat(i, bindings[i])
    assert world.liveness.evaluations == evaluated  # no timer visited anyone
    assert world.liveness.scheduled == 1
    assert {world.status(i) for i in ids} == {H}


async def test_only_the_late_instance_is_visited_and_it_fails_on_the_rules_schedule(world: World) -> None:
    ids = [f"orders-{n}" for n in range(50)]
    bindings = {i: await world.bind(i) for i in ids}
    for i in ids:
        world.beat(i, bindings[i])
    silent = "orders-7"
    evaluated = world.liveness.evaluations
    step = 1 / 64  # exact in binary: the clock lands on 1.5 s, 3.5 s and 10.5 s exactly
    seen: list[tuple[float, HealthStatus]] = []
    for n in range(1, 12 * 64):
        world.advance(step)
        if n % 32 == 0:  # every other instance beats every 0.5 s
            for i in ids:
                if i != silent:
                    world.beat(i, bindings[i])
        status = world.status(silent)
        if not seen or seen[-1][1] is not status:
            seen.append((n * step, status))
    assert seen == [(step, H), (1.5, DG), (3.5, C), (10.5, DEAD)]
    assert world.liveness.evaluations - evaluated == 3  # DEGRADED, CRITICAL, DEAD: nothing else
    assert {world.status(i) for i in ids if i != silent} == {H}
    assert world.liveness.lanes == {1.0: 49}


async def test_a_late_beat_recovers_and_rejoins_the_lane_in_order(world: World) -> None:
    a, b = await world.bind("orders-a"), await world.bind("orders-b")
    world.beat("orders-a", a)
    world.advance(0.2)
    world.beat("orders-b", b)
    world.advance(1.4)  # a: 1.6 s of silence, one miss; b: 1.4 s
    assert (world.status("orders-a"), world.status("orders-b")) == (DG, H)
    assert world.liveness.lanes == {1.0: 1}
    assert world.beat("orders-a", a) is H  # back, and now the last heard
    assert world.liveness.lanes == {1.0: 2}
    world.advance(0.1)  # b reaches 1.5 s first
    assert (world.status("orders-a"), world.status("orders-b")) == (H, DG)
    world.advance(1.39)
    assert world.status("orders-a") is H
    world.advance(0.02)
    assert world.status("orders-a") is DG


async def test_each_interval_has_its_own_lane_and_a_policy_change_moves_the_instance(world: World) -> None:
    fast = HeartbeatPolicy(interval=0.5, timeout=5.0, max_failures=3)
    one, two = await world.bind("orders-1"), await world.bind("orders-2", fast)
    world.beat("orders-1", one)
    world.beat("orders-2", two)
    assert world.liveness.lanes == {1.0: 1, 0.5: 1}
    assert world.liveness.scheduled == 2
    await world.register("orders-1", fast)  # a re-registration with a faster policy
    assert one.sink.pushed[-1].interval == 0.5  # type: ignore[attr-defined]
    assert world.liveness.lanes == {1.0: 0, 0.5: 2}
    world.advance(0.74)
    assert world.status("orders-1") is H
    world.advance(0.02)  # 0.76 s > 1.5 x 0.5 s: both silent ones degrade
    assert (world.status("orders-1"), world.status("orders-2")) == (DG, DG)
    assert world.liveness.lanes == {1.0: 0}
    world.advance(1.0)  # past the 1 s lane's timer, which finds it empty
    assert world.liveness.lanes == {}


async def test_a_broken_stream_is_critical_after_the_debounce_not_a_tick_later(world: World) -> None:
    binding = await world.bind("orders-1")
    world.beat("orders-1", binding)
    world.advance(0.3)
    binding.release()  # the stream ended without a goodbye
    assert world.liveness.lanes == {1.0: 0}
    world.advance(DEBOUNCE - 0.001)
    assert world.status("orders-1") is H
    world.advance(0.001)
    assert world.status("orders-1") is C


async def test_a_take_over_moves_the_instance_behind_those_heard_before(world: World) -> None:
    a, b = await world.bind("orders-a"), await world.bind("orders-b")
    world.beat("orders-a", a)
    world.beat("orders-b", b)
    world.advance(1.0)
    a = await world.bind("orders-a", take_over=True)  # the bind restarts a's silence
    world.advance(0.51)
    assert (world.status("orders-a"), world.status("orders-b")) == (H, DG)
    world.advance(1.0)
    assert world.status("orders-a") is DG


async def test_an_instance_removed_from_the_registry_leaves_its_lane(world: World) -> None:
    binding = await world.bind("orders-1")
    world.beat("orders-1", binding)
    await world.catalog.deregister(("orders", "orders-1"))
    assert world.liveness.lanes == {1.0: 0}
    assert binding.sink.ended is not None  # type: ignore[attr-defined]
    world.advance(2.0)
    assert world.liveness.lanes == {}


def test_a_lane_keeps_beat_order_and_gives_up_only_the_late() -> None:
    lane = Lane(1.0)
    states = [InstanceState(("orders", f"orders-{n}"), POLICY, H, 1000.0 + n / 10) for n in range(5)]
    for state in states:
        assert lane.add(state)
    assert not lane.add(InstanceState(("orders", "old"), POLICY, H, 999.0))  # older than the tail
    states[0].ref = 1000.45
    lane.heard(states[0])  # beat just now: to the end
    assert lane.next_due() == 1000.1 + 1.5
    assert [s.key[1] for s in lane.pop_late(1001.75)] == ["orders-1", "orders-2"]
    assert [s.lane for s in states] == [lane, None, None, lane, lane]
    assert lane.next_due() == 1000.3 + 1.5
    lane.remove(states[3])
    assert len(lane) == 2
    assert [s.key[1] for s in lane.pop_late(1010.0)] == ["orders-4", "orders-0"]
    assert lane.next_due() is None
