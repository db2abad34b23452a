"""Discovery: who serves a service, answered from a local cache that Watch keeps current.

The first `resolve("orders")` opens a Watch on `orders` and waits for its snapshot; from then on
every resolve is a dictionary read with the filters applied locally (no RPC per call). The watch
runs in the background and:

- applies events in revision order (a status change, a new instance, a removal);
- reconnects after a failure with exponential backoff and full jitter, resuming after the last
  revision it saw, so the registry replays only what was missed; when the registry cannot (its
  history was compacted or it restarted) it sends a fresh snapshot, which replaces the cache whole;
- is reopened before its token is due for refresh, resuming the same way.

While the registry is unreachable, resolve keeps answering from the last known view: stale
instances are better than none, and calls to a dead one fail over (see `ServiceChannel`).

Limits: at most `max_services` watched services per client (64 by default); when a new one is
needed, the least recently resolved service that no channel uses is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import grpc

from client._proto import heartbeat_pb, registry_pb
from client._tasks import cancel_and_wait
from client.backoff import Backoff
from client.errors import (
    RegistryClientError,
    ResourceExhaustedError,
    UnavailableError,
    UnimplementedError,
    from_rpc_error,
    translated,
)
from client.model import SERVING, HealthStatus, Instance
from client.transport import Transport
from client.versions import parse_constraint, satisfies

log = logging.getLogger(__name__)

Listener = Callable[["ServiceView"], None]


@dataclass(frozen=True, slots=True)
class Filters:
    """What `resolve` keeps, with the registry's Lookup semantics.

    `tags`: all must be present; `version`: a constraint such as `>=1.2,<2`; `metadata`: each pair
    must match; `zone`: instances there come first, the others follow (for cross-zone failover);
    `statuses`: empty means the serving ones (UNKNOWN, HEALTHY, DEGRADED); `limit`: 0 means all.
    """

    tags: tuple[str, ...] = ()
    version: str = ""
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    zone: str = ""
    statuses: frozenset[HealthStatus] = frozenset()
    limit: int = 0

    def select(self, instances: Mapping[str, Instance]) -> list[Instance]:
        """The matching instances: preferred zone first, then by weight (descending) and id."""
        statuses = self.statuses or SERVING
        tags = frozenset(self.tags)
        constraint = parse_constraint(self.version) if self.version else ()
        ordered = sorted(instances.values(), key=lambda i: (-i.weight, i.instance_id))
        near: list[Instance] = []
        far: list[Instance] = []
        for instance in ordered:
            if instance.status not in statuses or not tags <= frozenset(instance.tags):
                continue
            if any(instance.metadata.get(k) != v for k, v in self.metadata.items()):
                continue
            if constraint and not satisfies(instance.version, constraint):
                continue
            (far if self.zone and instance.zone != self.zone else near).append(instance)
        near.extend(far)
        return near[: self.limit] if self.limit else near


ANY = Filters()


@dataclass(slots=True)
class WatchStats:
    snapshots: int = 0
    """Full snapshots applied (the first one, and one per resume the registry could not serve)."""
    resumes: int = 0
    """Reconnects that resumed after a revision."""
    rotations: int = 0
    """Streams reopened before their token expired."""
    failures: int = 0
    events: int = 0


class ServiceView:
    """The cached instances of one service, kept current by one Watch stream."""

    def __init__(self, transport: Transport, service: str, backoff: Backoff) -> None:
        self.service = service
        self.instances: Mapping[str, Instance] = MappingProxyType({})
        """Every known instance, whatever its status (a new mapping after each change)."""
        self.revision = 0
        self.stats = WatchStats()
        self.users = 0
        """Channels using this view; a used view is never evicted."""
        self._transport = transport
        self._backoff = backoff
        self._ready = asyncio.Event()
        self._listeners: list[Listener] = []
        self._task = asyncio.create_task(self._run(), name=f"watch {service}")

    @property
    def ready(self) -> bool:
        """True once a snapshot has arrived."""
        return self._ready.is_set()

    def select(self, filters: Filters = ANY) -> list[Instance]:
        return filters.select(self.instances)

    async def wait_ready(self, seconds: float) -> None:
        """Wait for the first snapshot; `UnavailableError` when none came within `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                await self._ready.wait()
        except TimeoutError:
            raise UnavailableError(
                f"no view of {self.service!r} yet: the registry did not answer within {seconds}s"
            ) from None

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def cancel(self) -> None:
        """Stop watching (the cache stays as it was)."""
        self._task.cancel()

    async def close(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            try:
                await self._watch_once()
            except Exception as error:  # RegistryClientError; anything else is a bug, logged loudly
                if not isinstance(error, RegistryClientError):
                    log.exception("watch of %s: unexpected error", self.service)
                self.stats.failures += 1
                delay = self._backoff.next_delay()
                log.info("watch of %s failed (%s); resuming in %.3fs", self.service, error, delay)
                await asyncio.sleep(delay)

    async def _watch_once(self) -> None:
        """One Watch stream, until it fails (raises) or is due for rotation (returns)."""
        transport = self._transport
        lifetime = transport.stream_lifetime()
        rotate_at = time.monotonic() + lifetime
        if self.revision:
            self.stats.resumes += 1
        request = registry_pb.WatchRequest(service_names=[self.service], after_revision=self.revision)
        call = transport.registry.Watch(request, timeout=transport.stream_deadline(lifetime))
        pending: dict[str, Instance] | None = None
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                    # that races with the read, and this task would then never stop.
                    async with asyncio.timeout(max(0.0, rotate_at - time.monotonic())):
                        response = await call.read()
                except TimeoutError:
                    self.stats.rotations += 1
                    return
                if not isinstance(response, registry_pb.WatchResponse):  # EOF
                    raise UnavailableError("the registry ended the watch")
                self._backoff.reset()
                pending = self._apply(response, pending)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()

    def _apply(
        self, response: registry_pb.WatchResponse, pending: dict[str, Instance] | None
    ) -> dict[str, Instance] | None:
        """Apply one response; returns the snapshot being assembled, if one is in progress."""
        if response.kind == registry_pb.WATCH_RESPONSE_KIND_SNAPSHOT:
            pending = {} if pending is None else pending
            for event in response.events:
                pending[event.instance.instance_id] = Instance.from_proto(event.instance)
            if response.snapshot_continues:
                return pending
            self.stats.snapshots += 1
            self._publish(pending, response.revision)
            return None
        if response.kind == registry_pb.WATCH_RESPONSE_KIND_EVENTS:
            instances = dict(self.instances)
            for event in response.events:
                self.stats.events += 1
                if event.type == registry_pb.WATCH_EVENT_TYPE_REMOVED:
                    instances.pop(event.instance.instance_id, None)
                else:
                    instances[event.instance.instance_id] = Instance.from_proto(event.instance)
            self._publish(instances, response.revision)
        elif response.revision > self.revision:  # PROGRESS
            self.revision = response.revision
        return pending

    def _publish(self, instances: dict[str, Instance], revision: int) -> None:
        self.instances = MappingProxyType(instances)
        self.revision = max(self.revision, revision)
        self._ready.set()
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                log.exception("discovery listener failed")


class LoadBoard:
    """How loaded each instance is, as least-loaded pickers see it: calls this client has open to
    it plus the `in_flight` it last reported to the registry (refreshed at most every `refresh`
    seconds per service, in the background, never on the pick path)."""

    def __init__(self, transport: Transport, refresh: float = 1.0, max_entries: int = 10_000) -> None:
        self._transport = transport
        self._refresh = refresh
        self._max = max_entries
        self._local: dict[tuple[str, str], int] = {}
        self._reported: dict[tuple[str, str], float] = {}
        self._refreshed: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsupported = False

    def begin(self, instance: Instance) -> None:
        key = (instance.service_name, instance.instance_id)
        self._local[key] = self._local.get(key, 0) + 1

    def end(self, instance: Instance) -> None:
        key = (instance.service_name, instance.instance_id)
        left = self._local.get(key, 0) - 1
        if left > 0:
            self._local[key] = left
        else:
            self._local.pop(key, None)

    def load(self, instance: Instance) -> float:
        self._maybe_refresh(instance.service_name)
        key = (instance.service_name, instance.instance_id)
        return self._local.get(key, 0) + self._reported.get(key, 0.0)

    def _maybe_refresh(self, service: str) -> None:
        now = time.monotonic()
        if self._unsupported or now - self._refreshed.get(service, -self._refresh) < self._refresh:
            return
        self._refreshed[service] = now
        task = asyncio.create_task(self._fetch(service))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, service: str) -> None:
        transport = self._transport
        request = heartbeat_pb.ListInstanceHealthRequest(service_name=service, page_size=1000)
        try:
            with translated():
                response = await transport.heartbeat.ListInstanceHealth(
                    request, timeout=transport.call_timeout
                )
        except UnimplementedError:
            self._unsupported = True
            return
        except RegistryClientError as error:
            log.debug("load refresh for %s failed: %s", service, error)
            return
        if len(self._reported) > self._max:
            self._reported.clear()
        for health in response.healths:
            self._reported[(health.service_name, health.instance_id)] = float(health.load.in_flight)


class Discovery:
    """The watched services of one client."""

    def __init__(self, transport: Transport, *, max_services: int = 64) -> None:
        self._transport = transport
        self._max = max_services
        self._views: OrderedDict[str, ServiceView] = OrderedDict()
        self.loads = LoadBoard(transport)

    @property
    def watched(self) -> list[str]:
        """Services watched now, least recently resolved first."""
        return list(self._views)

    def view(self, service: str) -> ServiceView:
        """The view of `service`, starting its watch on first use."""
        view = self._views.get(service)
        if view is not None:
            self._views.move_to_end(service)
            return view
        if len(self._views) >= self._max:
            self._evict()
        config = self._transport.config
        view = ServiceView(self._transport, service, Backoff(config.backoff_base, config.backoff_cap))
        self._views[service] = view
        return view

    async def resolve(self, service: str, filters: Filters = ANY) -> list[Instance]:
        """The instances of `service` that match `filters`; waits for the first snapshot only."""
        view = self.view(service)
        if not view.ready:
            await view.wait_ready(self._transport.call_timeout)
        return view.select(filters)

    def _evict(self) -> None:
        for name, view in self._views.items():
            if view.users == 0:
                del self._views[name]
                view.cancel()
                return
        raise ResourceExhaustedError(f"every one of the {self._max} watched services is in use by a channel")

    async def close(self) -> None:
        views, self._views = list(self._views.values()), OrderedDict()
        await asyncio.gather(*(view.close() for view in views))
