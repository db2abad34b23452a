"""Registration: register once, then keep the instance alive with no user code.

`RegistryClient.register(...)` returns a `Registration` whose background task holds the heartbeat
stream open and beats at the interval the registry asks for. It survives everything short of the
process dying:

- the stream breaks or the registry restarts: reconnect after an exponential backoff with full
  jitter (so a fleet dropped at once does not come back in one wave), binding with `take_over`
  because the registry may not have noticed the old stream is gone;
- the registry lost the instance (REREGISTER directive, or NOT_FOUND on bind): register again with
  the same request (Register is idempotent), then bind again;
- the token is about to expire: open a new stream with a fresh token and bind it with take_over
  *before* dropping the old one, so the registry never sees a gap;
- SET_INTERVAL: beat at the new interval from the next beat on;
- DRAIN: `draining` turns True and `on_drain` runs; beats continue so the instance stays known.

`stop()` says goodbye(DRAIN) on the stream (the registry takes the instance out of service without
counting a failure), waits `drain_grace` for in-flight work, then deregisters.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

import grpc

from client._convert import seconds
from client._proto import heartbeat_pb, instance_pb, registry_pb
from client._tasks import cancel_and_wait
from client.backoff import Backoff
from client.errors import (
    NotFoundError,
    RegistryClientError,
    UnknownError,
    error_of,
    from_rpc_error,
    translated,
)
from client.heartbeat_stream import HeartbeatStream, Outcome, StreamClosedError, StreamOwner
from client.model import HealthStatus, Instance, Load
from client.registration_stats import MAX_EVENTS, ConnectionEvent, EventKind, RegistrationStats
from client.transport import Transport

__all__ = [  # the stats types live in registration_stats; importable from here as before
    "MAX_EVENTS",
    "ConnectionEvent",
    "DrainCallback",
    "EventKind",
    "LoadProvider",
    "Registration",
    "RegistrationStats",
]

log = logging.getLogger(__name__)

LoadProvider = Callable[[], Load]
DrainCallback = Callable[[], Any]

_REREGISTER = heartbeat_pb.DIRECTIVE_TYPE_REREGISTER


class Registration:
    """A registered instance kept alive in the background. Create it with `RegistryClient.register`."""

    def __init__(
        self,
        transport: Transport,
        instance: instance_pb.Instance,
        *,
        load: LoadProvider | None = None,
        on_drain: DrainCallback | None = None,
        drain_grace: float = 0.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._transport = transport
        self._request = instance
        self._load = load
        self._on_drain = on_drain
        self._drain_grace = drain_grace
        config = transport.config
        self._backoff = backoff or Backoff(config.backoff_base, config.backoff_cap)
        self.instance: Instance = Instance.from_proto(instance)
        """The instance as the registry last stored it."""
        self.status = HealthStatus.UNKNOWN
        """Status from the last bind or ack."""
        self.interval = seconds(instance.heartbeat_policy.interval) or 10.0
        """Current beat interval in seconds (the registry's policy, or its latest SET_INTERVAL)."""
        self.draining = False
        """True once the registry sent DRAIN: take no new work."""
        self.stats = RegistrationStats()
        self.events: deque[ConnectionEvent] = deque(maxlen=MAX_EVENTS)
        self.last_error: RegistryClientError | None = None
        self._interval_changed = asyncio.Event()
        self._status_changed = asyncio.Event()
        self._needs_register = True
        self._stream: HeartbeatStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._callbacks: set[asyncio.Future[Any]] = set()
        self._owner = StreamOwner(
            stats=self.stats,
            interval=lambda: self.interval,
            interval_changed=self._interval_changed,
            load=self._current_load,
            set_status=self._set_status,
            follow=self._follow,
            call_timeout=transport.call_timeout,
        )

    @property
    def service_name(self) -> str:
        return self._request.service_name

    @property
    def instance_id(self) -> str:
        return self._request.instance_id

    @property
    def connected(self) -> bool:
        """True while a heartbeat stream is bound."""
        return self._stream is not None and not self._stream.outcome.done()

    async def start(self) -> None:
        """Register, then beat in the background.

        Raises when the registry refuses the registration (bad request, no permission). An
        unreachable registry is not an error here: the background task keeps trying.
        """
        try:
            await self._register()
        except RegistryClientError as error:
            if not error.retryable:
                raise
            self._record(EventKind.FAILED, str(error), delay=0.0)
            log.warning("registry unreachable, registering in the background: %s", error)
        self._task = asyncio.create_task(
            self._run(), name=f"heartbeat {self.service_name}/{self.instance_id}"
        )

    async def wait_for_status(self, *statuses: HealthStatus) -> HealthStatus:
        """Wait until the registry reports one of `statuses` (default HEALTHY). Bound it with
        `asyncio.timeout(...)`."""
        wanted = set(statuses or (HealthStatus.HEALTHY,))
        while self.status not in wanted:
            self._status_changed.clear()
            await self._status_changed.wait()
        return self.status

    async def stop(self, *, deregister: bool = True) -> None:
        """Leave gracefully: goodbye(DRAIN), wait `drain_grace`, then deregister. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            await cancel_and_wait(self._task)
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.goodbye(heartbeat_pb.GOODBYE_REASON_DRAIN)
            await stream.retire()
        if self._drain_grace:
            await asyncio.sleep(self._drain_grace)
        if deregister:
            await self._deregister()

    async def __aenter__(self) -> Registration:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- the background loop -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._once()
            except Exception as error:  # a bug must not silently end the heartbeat: log, retry
                log.exception("heartbeat loop error; retrying")
                await self._after_failure(UnknownError(f"{type(error).__name__}: {error}"))

    async def _once(self) -> None:
        """Bind a stream (registering first when needed) and keep it until it must be replaced."""
        while True:
            try:
                if self._needs_register:
                    await self._register()
                fresh = await self._open()
            except RegistryClientError as error:
                await self._retire_current()
                await self._after_failure(error)
                continue
            await self._retire_current()
            self._stream = fresh
            self._backoff.reset()
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
                # races with the outcome, and stop() would then wait for a loop that never ends.
                async with asyncio.timeout(fresh.lifetime):
                    outcome = await asyncio.shield(fresh.outcome)
            except TimeoutError:
                self.stats.rotations += 1
                self._record(EventKind.ROTATED)
                continue  # the next bind takes over; this stream is dropped only after it
            except RegistryClientError as error:
                await self._retire_current()
                await self._after_failure(error)
                continue
            if outcome is Outcome.REREGISTER:
                self._needs_register = True
                self._set_status(HealthStatus.UNKNOWN)  # the registry lost us until we bind again

    async def _after_failure(self, error: RegistryClientError) -> None:
        self.stats.failures += 1
        self.last_error = error
        self._set_status(HealthStatus.UNKNOWN)  # unknown to us until a registry confirms again
        detail = f"{type(error).__name__}: {error}"
        if isinstance(error, NotFoundError):
            # The registry lost us (restarted on an empty store, or reaped us): register again,
            # at once the first time; a NOT_FOUND again right after that waits out the backoff.
            lost_again = self._needs_register
            self._needs_register = True
            if not lost_again:
                self._record(EventKind.FAILED, detail, delay=0.0)
                return
        delay = self._backoff.next_delay()
        self._record(EventKind.FAILED, detail, delay=delay)
        log.info("heartbeat stream failed (%s); reconnecting in %.3fs", error, delay)
        await asyncio.sleep(delay)

    async def _retire_current(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.retire()

    async def _register(self) -> None:
        transport = self._transport
        with translated():
            response = await transport.registry.Register(
                registry_pb.RegisterRequest(instance=self._request), timeout=transport.call_timeout
            )
        self.instance = Instance.from_proto(response.instance)
        self._needs_register = False
        policy_interval = seconds(response.instance.heartbeat_policy.interval)
        if policy_interval:
            self.interval = policy_interval
        self.stats.registrations += 1
        self._record(EventKind.REGISTERED, "created" if response.created else "confirmed")

    async def _open(self) -> HeartbeatStream:
        """Open a Heartbeat call, bind it (taking over any older stream) and wait for `bound`."""
        transport = self._transport
        self.stats.attempts += 1
        self._record(EventKind.ATTEMPT)
        lifetime = transport.stream_lifetime()
        call = transport.heartbeat.Heartbeat(None, timeout=transport.stream_deadline(lifetime))
        bind = heartbeat_pb.HeartbeatBind(
            service_name=self.service_name, instance_id=self.instance_id, take_over=True
        )
        try:
            async with asyncio.timeout(transport.call_timeout):
                await call.write(heartbeat_pb.HeartbeatRequest(bind=bind))
                first = await call.read()
        except grpc.RpcError as error:
            call.cancel()
            raise from_rpc_error(error) from error
        except asyncio.InvalidStateError:  # the call failed before the bind could be written
            raise await error_of(call) from None
        except TimeoutError:
            call.cancel()
            raise StreamClosedError("no answer to bind within the call timeout") from None
        if not isinstance(first, heartbeat_pb.HeartbeatResponse) or first.WhichOneof("kind") != "bound":
            call.cancel()
            if isinstance(first, heartbeat_pb.HeartbeatResponse) and first.directive.type == _REREGISTER:
                raise NotFoundError("the registry does not know this instance", reason="INSTANCE_NOT_FOUND")
            raise StreamClosedError("the registry did not confirm the bind")
        policy = first.bound.policy
        self.interval = seconds(policy.interval) or self.interval
        self.stats.binds += 1
        self._record(EventKind.BOUND)
        self._set_status(HealthStatus(first.bound.status or HealthStatus.UNKNOWN))
        return HeartbeatStream(call, self._owner, lifetime)

    async def _deregister(self) -> None:
        transport = self._transport
        request = registry_pb.DeregisterRequest(service_name=self.service_name, instance_id=self.instance_id)
        try:
            with translated():
                await transport.registry.Deregister(request, timeout=transport.call_timeout)
        except NotFoundError:
            pass  # already gone (reaped, or a retried Deregister that had succeeded)
        except RegistryClientError as error:
            log.warning("deregistration of %s/%s failed: %s", self.service_name, self.instance_id, error)

    # -- handed to the stream (StreamOwner) -----------------------------------------------------

    def _follow(self, directive: heartbeat_pb.Directive) -> Outcome | None:
        self._record(EventKind.DIRECTIVE, heartbeat_pb.DirectiveType.Name(directive.type))
        if directive.type == heartbeat_pb.DIRECTIVE_TYPE_SET_INTERVAL:
            interval = seconds(directive.interval)
            if interval > 0:
                self.interval = interval
                self._interval_changed.set()
        elif directive.type == _REREGISTER:
            return Outcome.REREGISTER
        elif directive.type == heartbeat_pb.DIRECTIVE_TYPE_DRAIN and not self.draining:
            self.draining = True
            log.warning(
                "registry asked %s/%s to drain: %s", self.service_name, self.instance_id, directive.reason
            )
            self._notify_drain()
        return None

    def _notify_drain(self) -> None:
        if self._on_drain is None:
            return
        result = self._on_drain()
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)

    def _set_status(self, status: HealthStatus) -> None:
        if status != self.status:
            self.status = status
            self._status_changed.set()

    def _current_load(self) -> Load | None:
        if self._load is None:
            return None
        try:
            return self._load()
        except Exception:
            log.exception("load provider failed; beating without load")
            return None

    def _record(self, kind: EventKind, detail: str = "", *, delay: float | None = None) -> None:
        self.events.append(ConnectionEvent(time.monotonic(), kind, detail, delay))
