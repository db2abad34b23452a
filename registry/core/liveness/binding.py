"""A binding: one heartbeat stream's hold on one instance, from bind until the stream ends.

The API calls it a binding (`HeartbeatBind`); it records beats, paces them, and reports goodbyes
and breaks to the engine that owns it. A binding that has been taken over, or whose instance was
removed, refuses further calls.
"""

from __future__ import annotations

from typing import Protocol

from registry.core.errors import (
    FailedPrecondition,
    InvalidArgument,
    Reason,
    instance_not_found,
    shutting_down,
)
from registry.core.liveness.pacing import Pacer
from registry.core.liveness.record import InstanceState
from registry.core.liveness.values import GoodbyeReason, Load, StreamSink
from registry.core.model import HealthStatus, HeartbeatPolicy


class BindingOwner(Protocol):
    """What a binding needs from the engine that created it."""

    @property
    def frozen(self) -> bool: ...

    def tracks(self, state: InstanceState) -> bool: ...

    def now(self) -> float: ...

    def real_now(self) -> float: ...

    def beat_read(self, excess_age: float) -> None: ...

    def wall(self) -> float: ...

    def beat_recorded(self, state: InstanceState, target: HealthStatus, now: float) -> None: ...

    def said_goodbye(self, state: InstanceState, reason: GoodbyeReason) -> None: ...

    def broke(self, state: InstanceState) -> None: ...

    def unbound(self, binding: Binding) -> None: ...


class Binding:
    """See the module docstring. Created by `Liveness.bind`."""

    __slots__ = ("_min_age", "_owner", "_pacer", "_released", "_state", "interval", "sequence", "sink")

    def __init__(self, owner: BindingOwner, state: InstanceState, sink: StreamSink, opened_at: float) -> None:
        """`opened_at` is on the owner's `real_now` clock, like every time the pacer sees."""
        self._owner = owner
        self._state = state
        self.sink = sink
        self.sequence = 0
        self.interval = state.policy.interval
        """The interval this stream's client was told (at bind, or by SET_INTERVAL)."""
        self._pacer = Pacer(opened_at)
        self._released = False
        self._min_age = float("inf")
        """The smallest age (our wall clock minus the send time) of this stream's beats: the
        client's clock offset plus the fastest path, the baseline of `beat_read`."""

    @property
    def policy(self) -> HeartbeatPolicy:
        return self._state.policy

    @property
    def status(self) -> HealthStatus:
        return self._state.status

    @property
    def drain_reason(self) -> str | None:
        """Why the instance was told to drain, or None: a stream that takes over from a drained
        one is told again after `bound`, and its beats keep the instance DRAINING."""
        return self._state.drain_reason

    def _current(self) -> InstanceState:
        state = self._state
        if state.binding is not self:
            if self._owner.tracks(state):
                raise taken_over()
            raise instance_not_found(state.key)
        if self._owner.frozen:
            raise shutting_down()
        return state

    def beat(
        self,
        sequence: int,
        rtt_ms: float | None = None,
        load: Load | None = None,
        sent_at: float | None = None,
    ) -> HealthStatus:
        """Record one beat; the status after it. `sent_at` is the client's send time (Unix
        seconds) when the beat carries one; it only paces the rate limit."""
        state = self._current()
        if sequence <= self.sequence:
            raise InvalidArgument("beat.sequence", f"must increase: {sequence} after {self.sequence}")
        owner = self._owner
        now = owner.now()
        wall = owner.wall()
        self._pacer.take(owner.real_now(), wall, state.policy.interval, sent_at)
        if sent_at is not None:
            age = wall - sent_at
            self._min_age = min(self._min_age, age)
            owner.beat_read(age - self._min_age)
        self.sequence = sequence
        if state.counting:
            state.missed_before += state.misses_due(now)
        else:
            state.counting = True
        state.ref = state.last_beat = now
        state.heartbeats += 1
        if rtt_ms is not None:
            state.record_latency(rtt_ms)
        if load is not None:
            state.load = load
        target = HealthStatus.HEALTHY if state.drain_reason is None else HealthStatus.DRAINING
        owner.beat_recorded(state, target, now)
        return state.status

    def refill(self) -> None:
        """Forget past beats for rate limiting (the policy changed under the client)."""
        self._pacer.refill()

    def goodbye(self, reason: GoodbyeReason) -> None:
        """The instance leaves on purpose: no failure, misses stop counting."""
        state = self._current()
        self._released = True
        state.binding = None
        self._owner.unbound(self)
        self._owner.said_goodbye(state, reason)

    def release(self) -> None:
        """The stream ended. Without a goodbye first, that is a broken stream. Idempotent."""
        if self._released:
            return
        self._released = True
        state = self._state
        if state.binding is self:
            state.binding = None
            self._owner.unbound(self)
            self._owner.broke(state)


def taken_over() -> FailedPrecondition:
    return FailedPrecondition("another stream took over this instance", reason=Reason.STREAM_TAKEN_OVER)
