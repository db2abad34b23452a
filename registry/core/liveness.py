"""Liveness: every instance's status machine, fed by heartbeat streams and one deadline scheduler.

The rules, for an instance with interval I, timeout T and max failures F whose last beat came at b
(b is the bind time while a stream has never beaten, and the registration or registry start
while no stream ever bound):

- A beat is due every I, with half an interval of tolerance for jitter: one is *missed* when none
  has come by b + 1.5·I, and every further interval misses one more (at b + (k + ½)·I).
- One miss makes a HEALTHY (or bound UNKNOWN) instance DEGRADED; F misses in a row make it
  CRITICAL; silence until b + T + ½·I makes it DEAD. With F·I ≥ T an instance reaches the timeout
  first and goes from DEGRADED straight to DEAD. DEAD instances are deregistered (a REMOVED watch
  event) `reap_seconds` after they died, unless a stream brings them back first.
- A stream that ends without a goodbye (the client was killed, its connection broke, or
  keepalive gave up on it) makes the instance CRITICAL `stream_break_debounce` later unless a
  stream binds it again first. The debounce (50 ms by default) hides a quick rebind completely,
  while a SIGKILLed process still leaves the serving set about 60 ms after its death.
- Only a beat improves a status: one beat makes the instance HEALTHY again, whatever it was,
  without a re-registration and without any REMOVED/ADDED pair.
- Goodbyes are not failures: DRAIN makes the instance DRAINING, STOP leaves its status alone
  (it deregisters next). Either way misses stop counting; only the timeout still applies, so an
  instance that said goodbye and then vanished is eventually reaped.
- An operator drain makes the instance DRAINING and sends its stream a DRAIN directive; beats on
  that stream keep it DRAINING. A new stream (a restarted process) starts afresh.
- Startup grace: for `startup_grace_seconds` after the registry starts, silence makes nobody
  CRITICAL or DEAD (misses still count and still degrade). Instances loaded from the store are
  UNKNOWN and their silence counts from the start, so a restart never evicts a healthy fleet.
- Self-preservation (see `SelfPreservation`) rate-limits failures that take serving instances out
  of discovery, and holds reaping while it is engaged.
- `stop()` freezes every transition before the server cancels streams at shutdown, so stopping
  the registry never marks its fleet CRITICAL.

Costs: a beat updates one record in memory (no allocation beyond the ack, no disk, no catalog
call, no heap operation) unless the status changes. Each instance has one scheduler entry; a
beating instance costs one heap pop and push per interval, from the scheduler task. Only status
changes reach the catalog (a revision, a watch event, a batched disk write). Status reads are a
dict lookup.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import enum
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from registry.core import validation
from registry.core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Reason,
    RegistryError,
    instance_not_found,
    limit_reached,
    shutting_down,
)
from registry.core.limits import LIMITS
from registry.core.model import (
    SERVING_STATUSES,
    Change,
    ChangeType,
    HealthStatus,
    HeartbeatPolicy,
    Instance,
    InstanceKey,
)
from registry.core.scheduler import DeadlineScheduler

log = logging.getLogger(__name__)

MIN_EXPIRY_BUDGET = 3
"""Expiries per window always admitted, so self-preservation protects fleets, not pairs."""

_UPTIME_STATUSES = frozenset({HealthStatus.HEALTHY, HealthStatus.DEGRADED})
_SEVERITY = {
    HealthStatus.UNKNOWN: 0,
    HealthStatus.HEALTHY: 0,
    HealthStatus.DRAINING: 0,
    HealthStatus.DEGRADED: 1,
    HealthStatus.CRITICAL: 2,
    HealthStatus.DEAD: 3,
}


class GoodbyeReason(enum.IntEnum):
    """Why an instance ends its stream (proto `GoodbyeReason`)."""

    DRAIN = 1
    STOP = 2


class DirectiveType(enum.IntEnum):
    """What the registry asks of an instance (proto `DirectiveType`)."""

    SET_INTERVAL = 1
    REREGISTER = 2
    DRAIN = 3


@dataclass(frozen=True, slots=True)
class Directive:
    type: DirectiveType
    reason: str
    interval: float | None = None
    """For SET_INTERVAL: the new interval in seconds."""


@dataclass(frozen=True, slots=True)
class Load:
    """How busy an instance says it is."""

    in_flight: int
    cpu: float
    gauges: Mapping[str, float]


def make_load(in_flight: int, cpu: float, gauges: Mapping[str, float], field_name: str = "beat.load") -> Load:
    """A validated Load: cpu finite and >= 0, gauges as `validation.gauges` wants them."""
    if not (math.isfinite(cpu) and cpu >= 0):
        raise InvalidArgument(f"{field_name}.cpu", "must be a finite number >= 0")
    validation.gauges(gauges, f"{field_name}.gauges")
    return Load(in_flight, cpu, MappingProxyType(dict(gauges)))


@dataclass(frozen=True, slots=True)
class LivenessSettings:
    """Registry-wide liveness settings (the per-instance ones are in HeartbeatPolicy)."""

    reap_seconds: float = 300.0
    startup_grace_seconds: float = 30.0
    self_preservation_threshold: float = 0.5
    self_preservation_window_seconds: float = 15.0
    max_streams: int = 20_000
    stream_break_debounce: float = 0.05


@dataclass(frozen=True, slots=True)
class InstanceHealth:
    """The liveness picture of one instance at one moment (proto `InstanceHealth`)."""

    service_name: str
    instance_id: str
    status: HealthStatus
    policy: HeartbeatPolicy
    stream_connected: bool
    heartbeat_count: int
    missed_heartbeats: int
    consecutive_failures: int
    average_latency_ms: float
    min_latency_ms: float
    max_latency_ms: float
    uptime_seconds: float
    uptime_percentage: float
    last_heartbeat_time: float | None
    """Unix seconds of the last beat; None before the first."""
    seconds_since_last: float
    load: Load | None


StatusCounts = Mapping[HealthStatus, int]


@dataclass(frozen=True, slots=True)
class HealthSummary:
    total: StatusCounts
    services: Mapping[str, StatusCounts]
    """Per service, in service name order."""
    self_preservation_active: bool
    startup_grace_active: bool
    open_streams: int


class StreamSink(Protocol):
    """What liveness needs from a bound heartbeat stream (implemented by the servicer)."""

    def push(self, directive: Directive) -> None:
        """Send `directive` on the stream soon; best effort."""

    def end(self, error: RegistryError, final: Directive | None = None) -> None:
        """End the stream with `error`'s status, sending `final` first when given."""


class CatalogView(Protocol):
    """The part of `registry.core.catalog.Catalog` liveness uses."""

    def snapshot(self, service_names: frozenset[str] = ...) -> list[Instance]: ...

    def instances_of(self, service_name: str) -> Mapping[str, Instance]: ...

    def set_status(self, key: InstanceKey, status: HealthStatus) -> Change | None: ...

    async def deregister(self, key: InstanceKey) -> int: ...

    def add_listener(self, listener: Callable[[Change], None]) -> None: ...


class SelfPreservation:
    """Admits at most `threshold` x instances (and at least MIN_EXPIRY_BUDGET) expiries per sliding
    `window`, and holds the rest.

    An *expiry* is a failure that takes a serving instance (UNKNOWN, HEALTHY, DEGRADED) out of
    discovery: to CRITICAL or DEAD. When more instances than that fail within one window the
    registry cannot tell a mass failure from its own network trouble, so it keeps the excess
    serving and releases them as the window slides: the rule is *engaged* while anything is held.
    It clears by itself, either because held instances beat again or because the budget releases
    them, so one engagement never lasts longer than about ⌈1 / threshold⌉ windows. A threshold of
    1 disables it. Reaping waits while it is engaged.
    """

    def __init__(self, threshold: float, window: float) -> None:
        self._threshold = threshold
        self._window = window
        self._admitted: collections.deque[float] = collections.deque()
        self._held: set[InstanceKey] = set()

    @property
    def active(self) -> bool:
        return bool(self._held)

    def admit(self, key: InstanceKey, now: float, population: int) -> bool:
        if self._threshold >= 1:
            return True
        admitted = self._admitted
        while admitted and admitted[0] <= now - self._window:
            admitted.popleft()
        if len(admitted) < max(MIN_EXPIRY_BUDGET, int(self._threshold * population)):
            admitted.append(now)
            return True
        if not self._held:
            log.warning(
                "self-preservation engaged: holding expiries",
                extra={"expired_in_window": len(admitted), "instances": population},
            )
        self._held.add(key)
        return False

    def next_release(self, now: float) -> float:
        """When the oldest admitted expiry leaves the window, freeing budget."""
        return (self._admitted[0] if self._admitted else now) + self._window

    def forget(self, key: InstanceKey) -> None:
        if key in self._held:
            self._held.discard(key)
            if not self._held:
                log.warning("self-preservation cleared")


class _Record:
    """Mutable liveness state of one instance. Times are `time.monotonic()` seconds."""

    __slots__ = (
        "broken_at",
        "counting",
        "drain_reason",
        "first_seen",
        "heartbeats",
        "held",
        "key",
        "last_beat",
        "latency_count",
        "latency_max",
        "latency_min",
        "latency_sum",
        "lease",
        "load",
        "missed_before",
        "policy",
        "ref",
        "status",
        "status_since",
        "uptime_before",
    )

    def __init__(self, key: InstanceKey, policy: HeartbeatPolicy, status: HealthStatus, now: float) -> None:
        self.key = key
        self.policy = policy
        self.status = status
        self.status_since = now
        self.lease: Lease | None = None
        self.first_seen = now
        self.ref = now
        """Last beat, or when silence started to count (bind, goodbye, registration, start)."""
        self.counting = False
        """Whether misses count: a stream has bound since the registry saw the instance and no
        goodbye came since."""
        self.missed_before = 0
        """Misses counted up to `ref`."""
        self.broken_at: float | None = None
        """When a stream ended without goodbye, while no stream has bound since."""
        self.held = False
        self.drain_reason: str | None = None
        """Set by an operator's drain; kept across stream take-overs until the instance leaves."""
        self.heartbeats = 0
        self.last_beat: float | None = None
        self.latency_count = 0
        self.latency_sum = 0.0
        self.latency_min = math.inf
        self.latency_max = 0.0
        self.uptime_before = 0.0
        """Seconds spent serving before `status_since`."""
        self.load: Load | None = None

    def misses_due(self, now: float) -> int:
        """Misses since `ref`: the consecutive failures right now."""
        if not self.counting or self.status is HealthStatus.DRAINING:
            return 0
        interval = self.policy.interval
        return max(0, int((now - self.ref - interval / 2) // interval))

    def uptime(self, now: float) -> float:
        current = now - self.status_since if self.status in _UPTIME_STATUSES else 0.0
        return self.uptime_before + current


class Lease:
    """One stream's hold on an instance, from `Liveness.bind` until the stream ends.

    A lease that has been taken over, or whose instance was removed, refuses further calls.
    """

    __slots__ = (
        "_liveness",
        "_paced",
        "_record",
        "_released",
        "_tokens",
        "interval",
        "sequence",
        "sink",
    )

    def __init__(self, liveness: Liveness, record: _Record, sink: StreamSink) -> None:
        self._liveness = liveness
        self._record = record
        self.sink = sink
        self.sequence = 0
        self.interval = record.policy.interval
        """The interval this stream's client was told (at bind, or by SET_INTERVAL)."""
        self._tokens = float(LIMITS.beat_burst)
        self._paced: float | None = None
        """When, on the registry's monotonic clock, the last beat was sent (see `_take_token`)."""
        self._released = False

    @property
    def policy(self) -> HeartbeatPolicy:
        return self._record.policy

    @property
    def status(self) -> HealthStatus:
        return self._record.status

    @property
    def drain_reason(self) -> str | None:
        """Why the instance was told to drain, or None: a stream that takes over from a drained
        one is told again after `bound`, and its beats keep the instance DRAINING."""
        return self._record.drain_reason

    def _current(self) -> _Record:
        record = self._record
        if record.lease is not self:
            if self._liveness.tracks(record):
                raise _taken_over()
            raise instance_not_found(record.key)
        if self._liveness.frozen:
            raise shutting_down()
        return record

    def beat(
        self,
        sequence: int,
        rtt_ms: float | None = None,
        load: Load | None = None,
        sent_at: float | None = None,
    ) -> HealthStatus:
        """Record one beat; the status after it. `sent_at` is the client's send time (Unix
        seconds) when the beat carries one; it only paces the rate limit."""
        record = self._current()
        if sequence <= self.sequence:
            raise InvalidArgument("beat.sequence", f"must increase: {sequence} after {self.sequence}")
        now = time.monotonic()
        self._take_token(now, record.policy.interval, sent_at)
        self.sequence = sequence
        if record.counting:
            record.missed_before += record.misses_due(now)
        else:
            record.counting = True
        record.ref = record.last_beat = now
        record.heartbeats += 1
        self._liveness.beats += 1
        if rtt_ms is not None:
            record.latency_count += 1
            record.latency_sum += rtt_ms
            record.latency_min = min(record.latency_min, rtt_ms)
            record.latency_max = max(record.latency_max, rtt_ms)
        if load is not None:
            record.load = load
        target = HealthStatus.HEALTHY if record.drain_reason is None else HealthStatus.DRAINING
        if record.status is not target or record.held:
            self._liveness._recover(record, target, now)
        return record.status

    def _take_token(self, now: float, interval: float, sent_at: float | None) -> None:
        """A token bucket over the times beats were *sent*, not the times we read them.

        Beats that queued behind a busy registry or a stalled connection are read back to back;
        counting them by arrival would cut exactly the healthy streams of an overloaded registry
        (a restart's reconnect wave) and make it busier still. So a beat that carries its send
        time is paced by it, moved onto our clock through its age. An age below zero (a client
        clock ahead of ours, or a lie) counts as zero, and a send time before the previous one
        (a client clock stepped back, or a lie) falls back to the arrival time, so paced times
        never pass our clock nor go backwards: a client can never earn tokens faster than our
        own clock runs. Without a send time, the arrival time paces. The first beat sets the
        baseline: beats sent while the registry had not yet read the bind must not count
        against the stream."""
        paced = now if sent_at is None else now - max(0.0, time.time() - sent_at)
        last = self._paced
        if last is None:
            last = paced
        elif paced < last:
            paced = now
        tokens = min(LIMITS.beat_burst, self._tokens + (paced - last) * LIMITS.beats_per_interval / interval)
        self._paced = paced
        if tokens < 1:
            raise limit_reached(
                Reason.HEARTBEAT_TOO_FAST,
                f"beats faster than {LIMITS.beats_per_interval} per interval of {interval:g}s",
                LIMITS.beats_per_interval,
            )
        self._tokens = tokens - 1

    def refill(self) -> None:
        """Forget past beats for rate limiting (the policy changed under the client)."""
        self._tokens = float(LIMITS.beat_burst)

    def goodbye(self, reason: GoodbyeReason) -> None:
        """The instance leaves on purpose: no failure, misses stop counting."""
        record = self._current()
        self._released = True
        record.lease = None
        self._liveness._goodbye(record, reason)

    def release(self) -> None:
        """The stream ended. Without a goodbye first, that is a broken stream. Idempotent."""
        if self._released:
            return
        self._released = True
        record = self._record
        if record.lease is self:
            record.lease = None
            self._liveness._broken(record)


class Liveness:
    """See the module docstring. `start()` after the catalog has started; `stop()` first at shutdown."""

    def __init__(self, catalog: CatalogView, settings: LivenessSettings) -> None:
        self._catalog = catalog
        self._settings = settings
        self._records: dict[InstanceKey, _Record] = {}
        self._scheduler: DeadlineScheduler[InstanceKey] = DeadlineScheduler(self._on_deadline)
        self._preservation = SelfPreservation(
            settings.self_preservation_threshold, settings.self_preservation_window_seconds
        )
        self._grace_until = 0.0
        self._open_streams = 0
        self.beats = 0
        """Beats received since start: the only metric work per beat is this increment."""
        self.on_detection: Callable[[float], None] | None = None
        """Told the seconds from a stream break to the instance's CRITICAL status (metrics)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.frozen = False

    # ----------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Track every catalogued instance, open the startup grace period, start the scheduler."""
        now = time.monotonic()
        self._grace_until = now + self._settings.startup_grace_seconds
        self._catalog.add_listener(self._on_change)
        for instance in self._catalog.snapshot():
            self._track(instance, now)
        self._scheduler.start()

    async def stop(self) -> None:
        """Freeze every status (synchronously, before the first await), then stop timers and
        wait for reaps in flight."""
        self.frozen = True
        await self._scheduler.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def tracks(self, record: _Record) -> bool:
        return self._records.get(record.key) is record

    # ----------------------------------------------------------------- streams

    @contextlib.contextmanager
    def stream_slot(self) -> Iterator[None]:
        """Hold one of `max_streams` heartbeat stream slots for the duration of a stream."""
        if self._open_streams >= self._settings.max_streams:
            raise limit_reached(
                Reason.TOO_MANY_STREAMS,
                f"the registry holds its maximum of {self._settings.max_streams} heartbeat streams",
                self._settings.max_streams,
            )
        self._open_streams += 1
        try:
            yield
        finally:
            self._open_streams -= 1

    def bind(self, key: InstanceKey, sink: StreamSink, *, take_over: bool = False) -> Lease:
        """Bind a stream to a registered instance. NotFound when not registered (the client must
        register again); FailedPrecondition when another stream holds it, unless `take_over`,
        which ends that stream instead."""
        if self.frozen:
            raise shutting_down()
        record = self._records.get(key)
        if record is None:
            raise instance_not_found(key)
        previous = record.lease
        if previous is not None:
            if not take_over:
                raise FailedPrecondition(
                    "another heartbeat stream holds this instance; bind with take_over to replace it",
                    reason=Reason.INSTANCE_ALREADY_BOUND,
                )
            record.lease = None
            previous.sink.end(_taken_over())
        now = time.monotonic()
        lease = Lease(self, record, sink)
        record.lease = lease
        record.broken_at = None
        if not record.counting:
            record.ref = now
            record.counting = True
        self._evaluate(record, now)
        return lease

    def drain(self, key: InstanceKey, reason: str) -> bool:
        """Take an instance out of discovery on an operator's request (not a failure) and tell
        its stream to drain. True when a stream was told."""
        if self.frozen:
            raise shutting_down()
        record = self._get(key)
        if record.status is HealthStatus.DEAD:
            raise FailedPrecondition(
                "the instance is dead; there is nothing to drain", reason=Reason.INSTANCE_DEAD
            )
        now = time.monotonic()
        record.drain_reason = reason or "an operator asked this instance to drain"
        self._transition(record, HealthStatus.DRAINING, now)
        self._evaluate(record, now)
        lease = record.lease
        if lease is None:
            return False
        lease.sink.push(Directive(DirectiveType.DRAIN, record.drain_reason))
        return True

    # ----------------------------------------------------------------- reads

    def status(self, key: InstanceKey) -> HealthStatus:
        return self._get(key).status

    def load(self, key: InstanceKey) -> Load | None:
        """The load figures the instance last reported, or None (unknown instance, or no beat
        carried any). O(1): the relay's least-loaded pick calls it per candidate per Send."""
        record = self._records.get(key)
        return None if record is None else record.load

    def health(self, key: InstanceKey) -> InstanceHealth:
        return self._health(self._get(key), time.monotonic(), time.time())

    def health_page(
        self, service_name: str, after: InstanceKey | None, limit: int
    ) -> tuple[list[InstanceHealth], InstanceKey | None]:
        """Up to `limit` instances (of one service, or all when empty) after `after` in (service,
        id) order, and the key to continue after (None on the last page)."""
        if service_name:
            keys = sorted((service_name, i) for i in self._catalog.instances_of(service_name))
        else:
            keys = sorted(self._records)
        start = 0 if after is None else bisect.bisect_right(keys, after)
        chosen = keys[start : start + limit]
        now, wall = time.monotonic(), time.time()
        healths = [self._health(self._records[k], now, wall) for k in chosen]
        return healths, chosen[-1] if start + limit < len(keys) else None

    @property
    def self_preservation_active(self) -> bool:
        return self._preservation.active

    @property
    def startup_grace_active(self) -> bool:
        return time.monotonic() < self._grace_until

    @property
    def open_streams(self) -> int:
        return self._open_streams

    def summary(self) -> HealthSummary:
        total: collections.Counter[HealthStatus] = collections.Counter()
        services: dict[str, collections.Counter[HealthStatus]] = {}
        for (service, _), record in self._records.items():
            total[record.status] += 1
            services.setdefault(service, collections.Counter())[record.status] += 1
        return HealthSummary(
            total=total,
            services={name: services[name] for name in sorted(services)},
            self_preservation_active=self._preservation.active,
            startup_grace_active=time.monotonic() < self._grace_until,
            open_streams=self._open_streams,
        )

    def _get(self, key: InstanceKey) -> _Record:
        record = self._records.get(key)
        if record is None:
            raise instance_not_found(key)
        return record

    @staticmethod
    def _health(record: _Record, now: float, wall: float) -> InstanceHealth:
        observed = now - record.first_seen
        uptime = record.uptime(now)
        pending = record.misses_due(now)
        count = record.latency_count
        last = record.last_beat
        return InstanceHealth(
            service_name=record.key[0],
            instance_id=record.key[1],
            status=record.status,
            policy=record.policy,
            stream_connected=record.lease is not None,
            heartbeat_count=record.heartbeats,
            missed_heartbeats=record.missed_before + pending,
            consecutive_failures=pending,
            average_latency_ms=record.latency_sum / count if count else 0.0,
            min_latency_ms=record.latency_min if count else 0.0,
            max_latency_ms=record.latency_max,
            uptime_seconds=uptime,
            uptime_percentage=100.0 * uptime / observed if observed > 0 else 0.0,
            last_heartbeat_time=None if last is None else wall - (now - last),
            seconds_since_last=now - (record.first_seen if last is None else last),
            load=record.load,
        )

    # ----------------------------------------------------------------- catalog changes

    def _on_change(self, change: Change) -> None:
        kind = change.type
        if kind is ChangeType.ADDED:
            self._track(change.instance, time.monotonic())
        elif kind is ChangeType.UPDATED:
            self._update_policy(change.instance)
        elif kind is ChangeType.REMOVED:
            self._untrack(change.instance.key)

    def _track(self, instance: Instance, now: float) -> None:
        record = _Record(instance.key, instance.registration.heartbeat_policy, instance.status, now)
        self._records[instance.key] = record
        self._evaluate(record, now)

    def _update_policy(self, instance: Instance) -> None:
        """A re-registration may change the policy: apply it, and tell a bound client whose
        interval it changed (SET_INTERVAL)."""
        record = self._records.get(instance.key)
        policy = instance.registration.heartbeat_policy
        if record is None or record.policy == policy:
            return
        record.policy = policy
        lease = record.lease
        if lease is not None and lease.interval != policy.interval:
            lease.interval = policy.interval
            lease.refill()
            lease.sink.push(
                Directive(
                    DirectiveType.SET_INTERVAL, "the instance's heartbeat policy changed", policy.interval
                )
            )
        self._evaluate(record, time.monotonic())

    def _untrack(self, key: InstanceKey) -> None:
        record = self._records.pop(key, None)
        if record is None:
            return
        self._scheduler.cancel(key)
        self._preservation.forget(key)
        lease, record.lease = record.lease, None
        if lease is not None:
            lease.sink.end(
                instance_not_found(key, "the instance was removed from the registry"),
                Directive(DirectiveType.REREGISTER, "the instance was removed; register again, then bind"),
            )

    # ----------------------------------------------------------------- the status machine

    def _recover(self, record: _Record, target: HealthStatus, now: float) -> None:
        """A beat came: the instance is back (or was never gone); nothing holds it any more."""
        self._transition(record, target, now)
        self._evaluate(record, now)

    def _goodbye(self, record: _Record, reason: GoodbyeReason) -> None:
        now = time.monotonic()
        record.missed_before += record.misses_due(now)
        record.ref = now
        record.counting = False
        record.broken_at = None
        if reason is GoodbyeReason.DRAIN:
            self._transition(record, HealthStatus.DRAINING, now)
        self._evaluate(record, now)

    def _broken(self, record: _Record) -> None:
        if self.frozen:
            return
        now = time.monotonic()
        record.broken_at = now
        self._scheduler.schedule_no_later(record.key, now + self._settings.stream_break_debounce)

    def _on_deadline(self, key: InstanceKey, now: float) -> None:
        record = self._records.get(key)
        if record is None:
            return
        if record.status is HealthStatus.HEALTHY and record.counting and record.broken_at is None:
            # The common case, once per interval per beating instance: it beat since this
            # deadline was set, so the next one is simply its next possible miss.
            first_miss = record.ref + 1.5 * record.policy.interval
            if now < first_miss and not self.frozen:
                self._scheduler.schedule(key, first_miss)
                return
        self._evaluate(record, now)

    def _evaluate(self, record: _Record, now: float) -> None:
        """Apply what silence or a broken stream has made due (unless self-preservation holds
        it), then set the next deadline: a status check, or the reap of a dead instance."""
        if self.frozen:
            return
        target, next_check = self._due(record, now)
        held = False
        while target is not record.status:
            if self._is_expiry(record.status, target) and not self._preservation.admit(
                record.key, now, len(self._records)
            ):
                held = True
                next_check = self._preservation.next_release(now)
                break
            self._transition(record, target, now)
            if target is HealthStatus.DEAD:
                break
            target, next_check = self._due(record, now)
        if record.held and not held:
            self._preservation.forget(record.key)
        record.held = held
        if record.status is HealthStatus.DEAD:
            self._schedule_reap(record, now)
        else:
            self._scheduler.schedule(record.key, next_check)

    def _due(self, record: _Record, now: float) -> tuple[HealthStatus, float]:
        """The status silence and stream breaks call for now (never better than the current
        one), and when that may next change."""
        status = record.status
        policy = record.policy
        interval = policy.interval
        slack = interval / 2
        in_grace = now < self._grace_until
        dead_at = record.ref + policy.timeout + slack
        if now >= dead_at:
            if not in_grace:
                return HealthStatus.DEAD, dead_at
            next_check = self._grace_until
        else:
            next_check = dead_at
        target = status
        if status is not HealthStatus.DRAINING:
            if record.broken_at is not None:
                critical_at = record.broken_at + self._settings.stream_break_debounce
                if now >= critical_at:
                    target = _worse(target, HealthStatus.CRITICAL)
                else:
                    next_check = min(next_check, critical_at)
            if record.counting:
                misses = record.misses_due(now)
                if misses >= policy.max_failures and not in_grace:
                    target = _worse(target, HealthStatus.CRITICAL)
                elif misses >= 1:
                    target = _worse(target, HealthStatus.DEGRADED)
                    crossing = record.ref + policy.max_failures * interval + slack
                    next_check = min(next_check, max(crossing, self._grace_until) if in_grace else crossing)
                else:
                    next_check = min(next_check, record.ref + interval + slack)
        return target, next_check

    @staticmethod
    def _is_expiry(status: HealthStatus, target: HealthStatus) -> bool:
        return status in SERVING_STATUSES and target not in SERVING_STATUSES

    def _transition(self, record: _Record, status: HealthStatus, now: float) -> None:
        old = record.status
        if old is status:
            return
        if status is HealthStatus.DRAINING:
            record.missed_before += record.misses_due(now)  # misses stop counting from here
        record.uptime_before = record.uptime(now)
        record.status = status
        record.status_since = now
        self._catalog.set_status(record.key, status)
        if status is HealthStatus.CRITICAL and record.broken_at is not None and self.on_detection is not None:
            self.on_detection(now - record.broken_at)
        if status in (HealthStatus.CRITICAL, HealthStatus.DEAD):
            log.info(
                "instance %s",
                status.name.lower(),
                extra={"service": record.key[0], "instance": record.key[1], "previous": old.name.lower()},
            )

    # ----------------------------------------------------------------- reaping

    def _schedule_reap(self, record: _Record, now: float) -> None:
        reap_at = record.status_since + self._settings.reap_seconds
        if now < reap_at:
            self._scheduler.schedule(record.key, reap_at)
        elif self._preservation.active:
            self._scheduler.schedule(record.key, self._preservation.next_release(now))
        else:
            task = asyncio.get_running_loop().create_task(self._reap(record.key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reap(self, key: InstanceKey) -> None:
        record = self._records.get(key)
        if record is None or record.status is not HealthStatus.DEAD:
            return  # came back (or went) since the deadline fired
        try:
            await self._catalog.deregister(key)
        except NotFound:
            return
        except Exception:
            log.exception("reaping failed; retrying", extra={"service": key[0], "instance": key[1]})
            if key in self._records and not self.frozen:
                self._scheduler.schedule(key, time.monotonic() + min(self._settings.reap_seconds, 5.0))
            return
        log.info("reaped", extra={"service": key[0], "instance": key[1]})


def _taken_over() -> FailedPrecondition:
    return FailedPrecondition("another stream took over this instance", reason=Reason.STREAM_TAKEN_OVER)


def _worse(status: HealthStatus, candidate: HealthStatus) -> HealthStatus:
    return candidate if _SEVERITY[candidate] > _SEVERITY[status] else status
