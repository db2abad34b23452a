"""RegistryClient: the one object a service holds to be a good citizen of the registry.

```python
async with RegistryClient.from_env() as registry:           # REGISTRY_URL, SERVICE_NAME, JWT_SECRET
    await registry.register("10.0.0.5:9000")                 # heartbeats, re-registers, drains
    orders = OrdersStub(await registry.channel("orders"))    # discovery + failover + breaker
    await registry.publish("crm.lead.created", {"id": 7})    # events through the registry
```

It owns one channel to the registry (keepalive, retries, auth and trace headers: see channel.py),
the discovery cache, one circuit breaker per target service, and the registrations it made, which
`close()` ends gracefully (goodbye, then deregister). Everything async runs on the event loop that
first uses the client; `client.sync.SyncRegistryClient` runs it on a thread for synchronous code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack

from client import _keywords
from client._convert import duration
from client._proto import instance_pb
from client.breaker import BreakerBoard
from client.channel import open_registry_channel, reconnect_options
from client.config import ClientConfig
from client.discovery import ANY, Discovery, Filters
from client.errors import ConfigError, NoInstanceError
from client.inbox import Inbox
from client.interceptors import auth_interceptors, tracing_interceptors
from client.messaging import (
    Messenger,
    Payload,
    Published,
    PublishOptions,
    QueryOptions,
    Reply,
    SendOptions,
    Subscription,
)
from client.model import Dependency, Endpoint, Instance
from client.pickers import PICKERS, LeastLoaded, Picker, RandomPick, RoundRobin, Weighted
from client.registration import DrainCallback, LoadProvider, Registration
from client.service_channel import ServiceChannel
from client.tokens import TokenSource, token_source
from client.transport import Transport

log = logging.getLogger(__name__)

PickerName = Literal["round-robin", "random", "weighted", "least-loaded"]


class RegisterOptions(TypedDict, total=False):
    """The keyword parameters of `register`, declared once for RegistryClient and SyncRegistryClient
    (see client/_keywords.py). Every one is optional."""

    service_name: str
    """Default: the configured SERVICE_NAME."""
    instance_id: str
    """Default: the configured SERVICE_ID."""
    version: str
    tags: Sequence[str]
    metadata: Mapping[str, str] | None
    zone: str
    weight: int
    """0: the registry's default."""
    dependencies: Sequence[Dependency]
    heartbeat_interval: float | None
    """Seconds; None: the registry's default."""
    heartbeat_timeout: float | None
    max_failures: int | None
    inbox: Inbox | None
    """Serve this inbox: its endpoint is added (named `inbox`) and its in-flight count is the load."""
    load: LoadProvider | None
    on_drain: DrainCallback | None
    drain_grace: float


class RegistryClient:
    """Registration, discovery, channels and messaging over one registry connection.

    `degrade=True` turns on graceful degradation (000): `publish` returns False and logs instead
    of raising when the registry is unreachable. Breaker settings apply to every target service.
    `channel_options` are extra gRPC channel arguments for the registry channel (they win over the
    SDK's own).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        tokens: TokenSource | None = None,
        degrade: bool = False,
        picker: PickerName = "round-robin",
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        max_services: int = 64,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self.config = config
        self.tokens = tokens or token_source(config)
        self.degrade = degrade
        self.default_picker: PickerName = picker
        self.breakers = BreakerBoard(failure_threshold=failure_threshold, reset_timeout=reset_timeout)
        """One circuit breaker per target service (`client.breakers["orders"]`)."""
        self._max_services = max_services
        self._channel_options = list(channel_options)
        self._transport: Transport | None = None
        self._discovery: Discovery | None = None
        self._messenger: Messenger | None = None
        self._registrations: list[Registration] = []
        self._channels: list[ServiceChannel] = []
        self._inboxes: list[Inbox] = []
        self._closed = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, degrade: bool = False, **settings: Any
    ) -> RegistryClient:
        """A client configured from the environment (see `ClientConfig`); keywords win."""
        return cls(ClientConfig.from_env(env, **settings), degrade=degrade)

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The registry connection, opened on first use (inside the running event loop)."""
        if self._closed:
            raise ConfigError("the client is closed")
        if self._transport is None:
            interceptors = [
                *tracing_interceptors(),
                *auth_interceptors(self.tokens, self.config.service_name),
            ]
            channel = open_registry_channel(self.config, interceptors, self._channel_options)
            self._transport = Transport(self.config, self.tokens, channel)
        return self._transport

    @property
    def discovery(self) -> Discovery:
        if self._discovery is None:
            self._discovery = Discovery(self.transport, max_services=self._max_services)
        return self._discovery

    @property
    def messenger(self) -> Messenger:
        if self._messenger is None:
            self._messenger = Messenger(self.transport, self.breakers, degrade=self.degrade)
        return self._messenger

    async def close(self) -> None:
        """Leave gracefully: stop every registration (goodbye, deregister), then inboxes and channels."""
        if self._closed:
            return
        await asyncio.gather(*(r.stop() for r in self._registrations), return_exceptions=True)
        await asyncio.gather(*(i.stop() for i in self._inboxes), return_exceptions=True)
        await asyncio.gather(*(c.close(None) for c in self._channels), return_exceptions=True)
        if self._messenger is not None:
            await self._messenger.close()
        if self._discovery is not None:
            await self._discovery.close()
        self._closed = True
        if self._transport is not None:
            await self._transport.channel.close(None)
            await asyncio.sleep(0)  # let grpc finish the tasks of the calls it just cancelled

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- registration ----------------------------------------------------------------------------

    async def register(self, *endpoints: Endpoint | str, **options: Unpack[RegisterOptions]) -> Registration:
        """Register this instance and keep it alive in the background; see `Registration`.

        Endpoints are `Endpoint`s or `"host:port"` strings (gRPC). With `inbox`, its endpoint is
        added (named `inbox`) and its in-flight count is reported as load. Names default to the
        configured SERVICE_NAME / SERVICE_ID. Raises when the registry refuses the registration;
        an unreachable registry is retried in the background instead.
        """
        _keywords.check(options, RegisterOptions, "register")
        resolved = [Endpoint.parse(e) if isinstance(e, str) else e for e in endpoints]
        inbox = options.get("inbox")
        load = options.get("load")
        if inbox is not None:
            resolved.append(inbox.endpoint)
            load = load or inbox.load
        message = instance_pb.Instance(
            service_name=options.get("service_name") or self.config.service_name,
            instance_id=options.get("instance_id") or self.config.instance_id,
            endpoints=[e.to_proto() for e in resolved],
            version=options.get("version", ""),
            tags=list(options.get("tags", ())),
            metadata=dict(options.get("metadata") or {}),
            zone=options.get("zone", ""),
            weight=options.get("weight", 0),
            dependencies=[
                instance_pb.Dependency(
                    service_name=d.service_name, kind=instance_pb.DependencyKind.ValueType(d.kind)
                )
                for d in options.get("dependencies", ())
            ],
        )
        if not message.service_name:
            raise ConfigError("service_name: pass service_name= or set SERVICE_NAME")
        policy = message.heartbeat_policy
        if (interval := options.get("heartbeat_interval")) is not None:
            policy.interval.CopyFrom(duration(interval))
        if (timeout := options.get("heartbeat_timeout")) is not None:
            policy.timeout.CopyFrom(duration(timeout))
        if (max_failures := options.get("max_failures")) is not None:
            policy.max_failures = max_failures
        registration = Registration(
            self.transport,
            message,
            load=load,
            on_drain=options.get("on_drain"),
            drain_grace=options.get("drain_grace", 0.0),
        )
        await registration.start()
        self._registrations.append(registration)
        return registration

    # -- discovery -------------------------------------------------------------------------------

    async def resolve(self, service: str, filters: Filters = ANY) -> list[Instance]:
        """Serving instances of `service` matching `filters`, from the watch-fed cache."""
        return await self.discovery.resolve(service, filters)

    def picker(self, name: PickerName | None = None) -> Picker:
        """A fresh picker by name; `least-loaded` reads this client's load board."""
        chosen = name or self.default_picker
        if chosen == "round-robin":
            return RoundRobin()
        if chosen == "random":
            return RandomPick()
        if chosen == "weighted":
            return Weighted()
        if chosen == "least-loaded":
            return LeastLoaded(self.discovery.loads.load)
        raise ConfigError(f"picker: unknown {chosen!r}; use one of {', '.join(PICKERS)}")

    async def pick(self, service: str, filters: Filters = ANY, picker: Picker | None = None) -> Instance:
        """One serving instance of `service`; `NoInstanceError` when there is none."""
        candidates = await self.resolve(service, filters)
        if not candidates:
            raise NoInstanceError(service)
        return (picker or self.picker()).pick(candidates)

    async def channel(
        self,
        service: str,
        *,
        filters: Filters = ANY,
        picker: PickerName | Picker | None = None,
        options: Sequence[tuple[str, Any]] = (),
        ready: bool = True,
    ) -> ServiceChannel:
        """A grpc.aio channel to `service` that picks a serving instance per call and fails over.

        With `ready` (the default) it returns once a connection to some instance is up.
        """
        view = self.discovery.view(service)
        await view.wait_ready(self.config.call_timeout)
        chosen = picker if picker is not None and not isinstance(picker, str) else self.picker(picker)
        channel = ServiceChannel(
            view,
            filters=filters,
            picker=chosen,
            breaker=self.breakers[service],
            loads=self.discovery.loads,
            call_timeout=self.config.call_timeout,
            options=[*reconnect_options(self.config), *options],
            interceptors=tracing_interceptors(),
        )
        self._channels = [c for c in self._channels if not c.closed]
        self._channels.append(channel)
        if ready:
            await channel.channel_ready()
        return channel

    # -- messaging -------------------------------------------------------------------------------

    async def send(
        self, target: str, command: str, payload: Payload = None, **options: Unpack[SendOptions]
    ) -> Reply:
        """Relay a command to one instance of `target` and return its reply (see Messenger.send)."""
        return await self.messenger.send(target, command, payload, **options)

    async def query(
        self, target: str, name: str, payload: Payload = None, **options: Unpack[QueryOptions]
    ) -> Reply:
        """Relay a query (retried once on another instance by the registry) and return the reply."""
        return await self.messenger.query(target, name, payload, **options)

    async def publish(
        self, topic: str, payload: Payload = None, **options: Unpack[PublishOptions]
    ) -> Published | Literal[False]:
        """Publish an event; with `degrade=True`, False (and a log line) when the registry is down."""
        return await self.messenger.publish(topic, payload, **options)

    def subscribe(
        self,
        *topics: str,
        after_sequence: int | None = None,
        tenant_id: str = "",
        sources: Sequence[str] = (),
    ) -> Subscription:
        """An async iterator over matching events that resumes after its last sequence."""
        return self.messenger.subscribe(
            *topics, after_sequence=after_sequence, tenant_id=tenant_id, sources=sources
        )

    async def serve_inbox(self, inbox: Inbox, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start `inbox` (its gRPC server and its event subscription); returns the bound port.

        `close()` stops it, after the registrations have said goodbye so no new work arrives."""
        port = await inbox.start(self, host=host, port=port)
        if inbox not in self._inboxes:
            self._inboxes.append(inbox)
        return port
