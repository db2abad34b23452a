"""The liveness engine: owns every instance's state, applies the rules, and schedules checks.

It wires the pure pieces together: `rules` decide statuses from times and counts, `Binding`
records beats and paces them, `SelfPreservation` holds mass expiries, `health` builds the read
views. The engine alone changes statuses (through the catalog) and sets deadlines: healthy
beating instances wait in the `Lane` of their interval (no timer each; see `lanes`), every other
deadline is in the one `DeadlineScheduler`.

- Only a beat improves a status: one beat makes the instance HEALTHY again, whatever it was,
  without a re-registration and without any REMOVED/ADDED pair.
- Goodbyes are not failures: DRAIN makes the instance DRAINING, STOP leaves its status alone
  (it deregisters next). Either way misses stop counting; only the timeout still applies.
- An operator drain makes the instance DRAINING and sends its stream a DRAIN directive; beats on
  that stream keep it DRAINING. A new stream (a restarted process) starts afresh.
- Startup grace: instances loaded from the store are UNKNOWN and their silence counts from the
  start, so a restart never evicts a healthy fleet.
- DEAD instances are deregistered (a REMOVED watch event) `reap_seconds` after they died, unless a
  stream brings them back first; reaping waits while self-preservation is engaged.
- `stop()` freezes every transition before the server cancels streams at shutdown, so stopping
  the registry never marks its fleet CRITICAL.

Every time comes from the injected clock. Costs: a beat updates one state in memory and moves
it to the end of its lane (no allocation beyond the ack, no disk, no catalog call, no heap
operation, no timer re-armed) unless the status changes. Only instances that are really late are
visited by a timer. Only status changes reach the catalog.

Cluster mode (`registry.core.cluster_liveness`) extends the engine through the documented hooks
in "extension points" below (`may_judge`, `check_bind`, `claimed`, `catalog_changed`) and its
public methods, never its private ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from registry.core.caller_slots import CallerSlots
from registry.core.errors import (
    FailedPrecondition,
    NotFound,
    Reason,
    instance_not_found,
    shutting_down,
)
from registry.core.liveness import health, rules
from registry.core.liveness.binding import Binding, taken_over
from registry.core.liveness.lanes import Lane
from registry.core.liveness.pacing import PIPELINED_INTERVALS
from registry.core.liveness.preservation import SelfPreservation
from registry.core.liveness.record import InstanceState
from registry.core.liveness.values import (
    CatalogView,
    Directive,
    DirectiveType,
    GoodbyeReason,
    HealthSummary,
    InstanceHealth,
    LivenessSettings,
    Load,
    StreamSink,
)
from registry.core.model import Change, ChangeType, HealthStatus, Instance, InstanceKey
from registry.core.ports import Clock
from registry.core.scheduler import DeadlineScheduler

log = logging.getLogger(__name__)


class Liveness:
    """See the module docstring. `start()` after the catalog has started; `stop()` first at shutdown."""

    def __init__(
        self,
        catalog: CatalogView,
        settings: LivenessSettings,
        clock: Clock,
        *,
        real_clock: Clock | None = None,
        on_beat_read: Callable[[float], None] | None = None,
    ) -> None:
        """`clock` is what silence is measured on (the registry's stall clock); `real_clock`, which
        always runs, paces beats against their send times (default: `clock`)."""
        self._catalog = catalog
        self._real_clock = clock if real_clock is None else real_clock
        self._on_beat_read = on_beat_read
        self._settings = settings
        self._clock = clock
        self._states: dict[InstanceKey, InstanceState] = {}
        self._lanes: dict[float, Lane] = {}
        """One lane per heartbeat interval in use, for the instances beating on time."""
        self._scheduler: DeadlineScheduler[InstanceKey | Lane] = DeadlineScheduler(
            self._on_deadline, clock.monotonic
        )
        self._preservation = SelfPreservation(
            settings.self_preservation_threshold, settings.self_preservation_window_seconds
        )
        self._grace_until = 0.0
        self._stream_slots = CallerSlots(
            "heartbeat streams",
            Reason.TOO_MANY_STREAMS,
            total=settings.max_streams,
            per_caller=settings.max_streams_per_caller,
        )
        self.beats = 0
        self._beat_rate = 0.0
        """Beats per second the bound streams should send, for the stall clock."""
        """Beats received since start: the only metric work per beat is this increment."""
        self.on_detection: Callable[[float], None] | None = None
        """Told the seconds from a stream break to the instance's CRITICAL status (metrics)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._frozen = False

    # ----------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Track every catalogued instance, open the startup grace period, start the scheduler."""
        now = self.now()
        self._grace_until = now + self._settings.startup_grace_seconds
        self._catalog.add_listener(self._on_change)
        for instance in self._catalog.snapshot():
            self._track(instance, now)
        self._scheduler.start()

    async def stop(self) -> None:
        """Freeze every status (synchronously, before the first await), then stop timers and
        wait for reaps in flight."""
        self._frozen = True
        await self._scheduler.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.wall()

    def real_now(self) -> float:
        return self._real_clock.monotonic()

    def beat_read(self, excess_age: float) -> None:
        """How much later than usual a beat was read: tells the stall clock, when there is one."""
        if self._on_beat_read is not None:
            self._on_beat_read(excess_age)

    def state_of(self, key: InstanceKey) -> InstanceState | None:
        """The liveness record of `key`, or None when it is not tracked."""
        return self._states.get(key)

    def keys(self) -> list[InstanceKey]:
        """Every tracked instance."""
        return list(self._states)

    def tracks(self, state: InstanceState) -> bool:
        return self._states.get(state.key) is state

    def fire_due(self) -> None:
        """Apply every deadline that has passed on the clock (for tests on a manual clock)."""
        self._scheduler.fire_due()

    @property
    def lanes(self) -> dict[float, int]:
        """Instances waiting in each interval's lane (for tests and the docs' accounting)."""
        return {interval: len(lane) for interval, lane in self._lanes.items()}

    @property
    def scheduled(self) -> int:
        """Deadlines in the scheduler: one per lane, plus one per instance not beating on time."""
        return len(self._scheduler)

    # ----------------------------------------------------------------- streams

    @property
    def bind_timeout(self) -> float:
        """Seconds a stream may stay open before it binds (the servicer enforces it)."""
        return self._settings.bind_timeout

    def take_stream_slot(self, caller: str) -> None:
        """Hold one of `max_streams` heartbeat stream slots, and one of the `max_streams_per_caller`
        of `caller` (the token subject), for the duration of a stream: one caller cannot take the
        slots every other service needs. `give_back_stream_slot` when the stream ends. (Two calls,
        not a context manager: a generator per open stream costs memory for its whole life.)"""
        self._stream_slots.take(caller)

    def give_back_stream_slot(self, caller: str) -> None:
        self._stream_slots.give_back(caller)

    def bind(self, key: InstanceKey, sink: StreamSink, *, take_over: bool = False) -> Binding:
        """Bind a stream to a registered instance. NotFound when not registered (the client must
        register again); FailedPrecondition when another stream holds it, unless `take_over`,
        which ends that stream instead."""
        if self._frozen:
            raise shutting_down()
        self.check_bind(key)
        state = self._states.get(key)
        if state is None:
            raise instance_not_found(key)
        previous = state.binding
        if previous is not None:
            if not take_over:
                raise FailedPrecondition(
                    "another heartbeat stream holds this instance; bind with take_over to replace it",
                    reason=Reason.INSTANCE_ALREADY_BOUND,
                )
            state.binding = None
            self.unbound(previous)
            previous.sink.end(taken_over())
        now = self.now()
        opened_at = self.real_now() - PIPELINED_INTERVALS * state.policy.interval
        binding = Binding(self, state, sink, opened_at)
        state.binding = binding
        self._beat_rate += 1 / binding.interval
        state.broken_at = None
        if state.counting:
            # A bind is the client speaking: silence restarts here, as it does at a first bind.
            # Counting on from the old stream's last beat would blame a take-over (a token
            # renewal) for the round trip the new stream needs before its first beat.
            state.missed_before += state.misses_due(now)
        state.ref = now
        state.counting = True
        self.claimed(state)
        self._evaluate(state, now)
        return binding

    def drain(self, key: InstanceKey, reason: str) -> bool:
        """Take an instance out of discovery on an operator's request (not a failure) and tell
        its stream to drain. True when a stream was told."""
        if self._frozen:
            raise shutting_down()
        state = self._get(key)
        if state.status is HealthStatus.DEAD:
            raise FailedPrecondition(
                "the instance is dead; there is nothing to drain", reason=Reason.INSTANCE_DEAD
            )
        now = self.now()
        state.drain_reason = reason or "an operator asked this instance to drain"
        self._transition(state, HealthStatus.DRAINING, now)
        self._evaluate(state, now)
        binding = state.binding
        if binding is None:
            return False
        binding.sink.push(Directive(DirectiveType.DRAIN, state.drain_reason))
        return True

    # ----------------------------------------------------------------- what bindings report

    def beat_recorded(self, state: InstanceState, target: HealthStatus, now: float) -> None:
        """A beat came: the instance is back (or was never gone); nothing holds it any more."""
        self.beats += 1
        if state.status is not target or state.held:
            self._transition(state, target, now)
            self._evaluate(state, now)
            return
        lane = state.lane
        if lane is not None:
            lane.heard(state)  # the common case: the whole cost of a beat to the timers
        elif target is HealthStatus.HEALTHY:
            self._evaluate(state, now)  # healthy with a deadline of its own: join its lane

    def expected_beat_rate(self) -> float:
        """Beats per second the bound streams should be sending."""
        return self._beat_rate

    def unbound(self, binding: Binding) -> None:
        self._beat_rate -= 1 / binding.interval

    def said_goodbye(self, state: InstanceState, reason: GoodbyeReason) -> None:
        now = self.now()
        state.missed_before += state.misses_due(now)
        state.ref = now
        state.counting = False
        state.broken_at = None
        if reason is GoodbyeReason.DRAIN:
            self._transition(state, HealthStatus.DRAINING, now)
        self._evaluate(state, now)

    def broke(self, state: InstanceState) -> None:
        if self._frozen:
            return
        now = self.now()
        state.broken_at = now
        self._leave_lane(state)
        self._scheduler.schedule_no_later(state.key, now + self._settings.stream_break_debounce)

    # ----------------------------------------------------------------- reads

    def status(self, key: InstanceKey) -> HealthStatus:
        return self._get(key).status

    def load(self, key: InstanceKey) -> Load | None:
        """The load figures the instance last reported, or None (unknown instance, or no beat
        carried any). O(1): the relay's least-loaded pick calls it per candidate per Send."""
        state = self._states.get(key)
        return None if state is None else state.load

    def health(self, key: InstanceKey) -> InstanceHealth:
        return health.instance_health(self._get(key), self.now(), self.wall())

    def health_page(
        self, service_name: str, after: InstanceKey | None, limit: int
    ) -> tuple[list[InstanceHealth], InstanceKey | None]:
        """Up to `limit` instances (of one service, or all when empty) after `after` in (service,
        id) order, and the key to continue after (None on the last page)."""
        if service_name:
            keys = sorted((service_name, i) for i in self._catalog.instances_of(service_name))
        else:
            keys = sorted(self._states)
        chosen, last = health.page_of_keys(keys, after, limit)
        now, wall = self.now(), self.wall()
        return [health.instance_health(self._states[k], now, wall) for k in chosen], last

    @property
    def self_preservation_active(self) -> bool:
        return self._preservation.active

    @property
    def startup_grace_active(self) -> bool:
        return self.now() < self._grace_until

    @property
    def open_streams(self) -> int:
        return self._stream_slots.held

    def summary(self) -> HealthSummary:
        total, services = health.status_counts(self._states.values())
        return HealthSummary(
            total=total,
            services=services,
            self_preservation_active=self._preservation.active,
            startup_grace_active=self.now() < self._grace_until,
            open_streams=self._stream_slots.held,
        )

    def _get(self, key: InstanceKey) -> InstanceState:
        state = self._states.get(key)
        if state is None:
            raise instance_not_found(key)
        return state

    # ----------------------------------------------------------------- catalog changes

    def _on_change(self, change: Change) -> None:
        kind = change.type
        if kind is ChangeType.ADDED:
            self._track(change.instance, self.now())
        elif kind is ChangeType.UPDATED:
            self._update_policy(change.instance)
        elif kind is ChangeType.REMOVED:
            self._untrack(change.instance.key)
        self.catalog_changed(change)

    def judge_afresh(self, instance: Instance) -> None:
        """Track `instance` with a fresh record, its silence counting from now (cluster mode:
        an instance whose owner is gone)."""
        old = self._states.get(instance.key)
        if old is not None:
            self._forget_deadlines(old)
        self._track(instance, self.now())

    def _track(self, instance: Instance, now: float) -> None:
        state = InstanceState(instance.key, instance.registration.heartbeat_policy, instance.status, now)
        self._states[instance.key] = state
        self._evaluate(state, now)

    def _update_policy(self, instance: Instance) -> None:
        """A re-registration may change the policy: apply it, and tell a bound client whose
        interval it changed (SET_INTERVAL)."""
        state = self._states.get(instance.key)
        policy = instance.registration.heartbeat_policy
        if state is None or state.policy == policy:
            return
        state.policy = policy
        binding = state.binding
        if binding is not None and binding.interval != policy.interval:
            self._beat_rate += 1 / policy.interval - 1 / binding.interval
            binding.interval = policy.interval
            binding.refill()
            binding.sink.push(
                Directive(
                    DirectiveType.SET_INTERVAL, "the instance's heartbeat policy changed", policy.interval
                )
            )
        self._evaluate(state, self.now())

    def _untrack(self, key: InstanceKey) -> None:
        state = self._states.pop(key, None)
        if state is None:
            return
        self._forget_deadlines(state)
        self._preservation.forget(key)
        binding, state.binding = state.binding, None
        if binding is not None:
            self.unbound(binding)
            binding.sink.end(
                instance_not_found(key, "the instance was removed from the registry"),
                Directive(DirectiveType.REREGISTER, "the instance was removed; register again, then bind"),
            )

    # ----------------------------------------------------------------- the status machine

    def _on_deadline(self, key: InstanceKey | Lane, now: float) -> None:
        if isinstance(key, Lane):
            self._sweep(key, now)
            return
        state = self._states.get(key)
        if state is not None:
            self._evaluate(state, now)

    def _sweep(self, lane: Lane, now: float) -> None:
        """A lane's head may be late: evaluate the instances that are (they degrade), then wait
        for the new head's first miss."""
        for state in lane.pop_late(now):
            if self._states.get(state.key) is state:
                self._evaluate(state, now)
        due = lane.next_due()
        if due is not None:
            self._scheduler.schedule(lane, due)
        elif self._lanes.get(lane.interval) is lane:
            del self._lanes[lane.interval]

    def _join_lane(self, state: InstanceState, first_miss: float) -> bool:
        """Move `state` (healthy, beating) to the end of its interval's lane; False when it
        cannot keep the lane's order (then it needs a deadline of its own)."""
        interval = state.policy.interval
        lane = self._lanes.get(interval)
        if lane is None:
            lane = self._lanes[interval] = Lane(interval)
        if state.lane is not None:
            state.lane.remove(state)
        was_empty = not lane
        if not lane.add(state):
            return False
        self._scheduler.cancel(state.key)
        if was_empty:
            self._scheduler.schedule_no_later(lane, first_miss)
        return True

    def _leave_lane(self, state: InstanceState) -> None:
        if state.lane is not None:
            state.lane.remove(state)

    def _forget_deadlines(self, state: InstanceState) -> None:
        self._leave_lane(state)
        self._scheduler.cancel(state.key)

    def _evaluate(self, state: InstanceState, now: float) -> None:
        """Apply what silence or a broken stream has made due (unless self-preservation holds
        it), then set the next deadline: a place in a lane for an instance beating on time, a
        status check of its own otherwise, or the reap of a dead instance."""
        if self._frozen or not self.may_judge(state.key):
            return
        target, next_check = self._due(state, now)
        held = False
        while target is not state.status:
            if rules.is_expiry(state.status, target) and not self._preservation.admit(
                state.key, now, len(self._states)
            ):
                held = True
                next_check = self._preservation.next_release(now)
                break
            self._transition(state, target, now)
            if target is HealthStatus.DEAD:
                break
            target, next_check = self._due(state, now)
        if state.held and not held:
            self._preservation.forget(state.key)
        state.held = held
        if state.status is HealthStatus.DEAD:
            self._leave_lane(state)
            self._schedule_reap(state, now)
            return
        if (
            state.status is HealthStatus.HEALTHY
            and state.counting
            and state.broken_at is None
            and not held
            and next_check == rules.first_miss_at(state.ref, state.policy.interval)
            and self._join_lane(state, next_check)
        ):
            return
        self._leave_lane(state)
        self._scheduler.schedule(state.key, next_check)

    def _due(self, state: InstanceState, now: float) -> tuple[HealthStatus, float]:
        return rules.due(
            state.status,
            state.policy,
            state.ref,
            state.counting,
            state.broken_at,
            now=now,
            grace_until=self._grace_until,
            debounce=self._settings.stream_break_debounce,
        )

    def _transition(self, state: InstanceState, status: HealthStatus, now: float) -> None:
        old = state.status
        if old is status:
            return
        if status is HealthStatus.DRAINING:
            state.missed_before += state.misses_due(now)  # misses stop counting from here
        state.uptime_before = state.uptime(now)
        state.status = status
        state.status_since = now
        self._catalog.set_status(state.key, status)
        if status is HealthStatus.CRITICAL and state.broken_at is not None and self.on_detection is not None:
            self.on_detection(now - state.broken_at)
        if status in (HealthStatus.CRITICAL, HealthStatus.DEAD):
            log.info(
                "instance %s",
                status.name.lower(),
                extra={"service": state.key[0], "instance": state.key[1], "previous": old.name.lower()},
            )

    # ----------------------------------------------------------------- reaping

    def _schedule_reap(self, state: InstanceState, now: float) -> None:
        reap_at = state.status_since + self._settings.reap_seconds
        if now < reap_at:
            self._scheduler.schedule(state.key, reap_at)
        elif self._preservation.active:
            self._scheduler.schedule(state.key, self._preservation.next_release(now))
        else:
            task = asyncio.get_running_loop().create_task(self._reap(state.key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reap(self, key: InstanceKey) -> None:
        if not self.may_judge(key):
            return
        state = self._states.get(key)
        if state is None or state.status is not HealthStatus.DEAD:
            return  # came back (or went) since the deadline fired
        try:
            await self._catalog.deregister(key)
        except NotFound:
            return
        except Exception:
            log.exception("reaping failed; retrying", extra={"service": key[0], "instance": key[1]})
            if key in self._states and not self._frozen:
                self._scheduler.schedule(key, self.now() + min(self._settings.reap_seconds, 5.0))
            return
        log.info("reaped", extra={"service": key[0], "instance": key[1]})

    # ----------------------------------------------------------------- extension points
    # Cluster mode overrides these four, and only these; each is a no-op (or True) here.

    def may_judge(self, key: InstanceKey) -> bool:
        """Whether this engine decides `key`'s status (and reaps it). When False, the record is
        kept but no deadline is set and nothing transitions: another replica decides."""
        return True

    def check_bind(self, key: InstanceKey) -> None:
        """Raise a `RegistryError` to refuse a bind before anything changes."""

    def claimed(self, state: InstanceState) -> None:
        """A stream just bound `state`'s instance here; its status is evaluated right after."""

    def catalog_changed(self, change: Change) -> None:
        """Called after the engine applied a catalog change (ADDED, UPDATED, REMOVED tracked or
        untracked; STATUS_CHANGED is the engine's own write, or another replica's)."""
