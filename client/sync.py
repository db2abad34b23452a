"""The synchronous facade: the same client for Django/Flask-style code, on a background thread.

`SyncRegistryClient` starts one daemon thread running an asyncio loop and the ordinary async
`RegistryClient` on it; each method submits the coroutine to that loop and blocks for the result.
Heartbeats, watches and subscriptions therefore keep running between requests, exactly as in an
async service, and nothing of the SDK is implemented twice.

```python
registry = SyncRegistryClient.from_env()
registry.register("10.0.0.5:8000")
registry.publish("crm.lead.created", {"id": 7})
stub = orders_pb2_grpc.OrdersStub(registry.channel("orders"))   # a plain sync stub
registry.close()
```

`channel()` returns a `grpc.Channel` for ordinary sync stubs; its calls run on the client's loop
through the async `ServiceChannel` (instance picking, failover, breaker). Streams are supported;
connectivity subscriptions are not (there is no single connection to watch).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, Unpack

import grpc

from client.client import PickerName, RegisterOptions, RegistryClient
from client.config import ClientConfig
from client.discovery import ANY, Filters
from client.inbox import Inbox
from client.messaging import (
    Message,
    Payload,
    Published,
    PublishOptions,
    QueryOptions,
    Reply,
    SendOptions,
    Subscription,
)
from client.model import Endpoint, HealthStatus, Instance
from client.registration import ConnectionEvent, Registration, RegistrationStats
from client.service_channel import ServiceChannel

T = TypeVar("T")


class _Loop:
    """An event loop on a daemon thread, and a way to run coroutines on it from any other thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="registry-client", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncRegistration:
    """A `Registration` driven from synchronous code."""

    def __init__(self, registration: Registration, loop: _Loop) -> None:
        self._registration = registration
        self._loop = loop

    @property
    def status(self) -> HealthStatus:
        return self._registration.status

    @property
    def instance(self) -> Instance:
        return self._registration.instance

    @property
    def draining(self) -> bool:
        return self._registration.draining

    @property
    def stats(self) -> RegistrationStats:
        return self._registration.stats

    @property
    def events(self) -> list[ConnectionEvent]:
        return list(self._registration.events)

    def wait_for_status(self, *statuses: HealthStatus, timeout: float | None = None) -> HealthStatus:
        """Block until the registry reports one of `statuses` (default HEALTHY); TimeoutError after
        `timeout` seconds."""

        async def wait() -> HealthStatus:
            async with asyncio.timeout(timeout):
                return await self._registration.wait_for_status(*statuses)

        return self._loop.run(wait())

    def stop(self, *, deregister: bool = True) -> None:
        self._loop.run(self._registration.stop(deregister=deregister))


class SyncSubscription:
    """A `Subscription` as a blocking iterator."""

    def __init__(self, subscription: Subscription, loop: _Loop) -> None:
        self._subscription = subscription
        self._loop = loop

    def __iter__(self) -> Iterator[Message]:
        return self

    def __next__(self) -> Message:
        try:
            return self._loop.run(self._subscription.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Message:
        """The next event; `TimeoutError` after `timeout` seconds (the subscription stays usable)."""

        async def read() -> Message:
            async with asyncio.timeout(timeout):
                return await self._subscription.__anext__()

        return self._loop.run(read())

    @property
    def resume_after(self) -> int | None:
        return self._subscription.resume_after

    def wait_started(self, timeout: float | None = None) -> None:
        """Block until the registry confirmed the subscription."""

        async def wait() -> None:
            async with asyncio.timeout(timeout):
                await self._subscription.wait_started()

        self._loop.run(wait())

    def close(self) -> None:
        self._loop.run(self._subscription.aclose())


class SyncServiceChannel(grpc.Channel):
    """A sync `grpc.Channel` whose calls run through an async `ServiceChannel` on the client loop."""

    def __init__(self, channel: ServiceChannel, loop: _Loop) -> None:
        self._channel = channel
        self._loop = loop

    def unary_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        multi = self._channel.unary_unary(method, request_serializer, response_deserializer)

        def call(request: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                return await multi(request, **kwargs)

            return self._loop.run(run())

        return call

    def stream_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        multi = self._channel.stream_unary(method, request_serializer, response_deserializer)

        def call(request_iterator: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                return await multi(iter(request_iterator), **kwargs)

            return self._loop.run(run())

        return call

    def unary_stream(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        multi = self._channel.unary_stream(method, request_serializer, response_deserializer)
        return lambda request, **kwargs: self._responses(lambda: multi(request, **kwargs))

    def stream_stream(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        multi = self._channel.stream_stream(method, request_serializer, response_deserializer)
        return lambda requests, **kwargs: self._responses(lambda: multi(iter(requests), **kwargs))

    def _responses(self, start: Any) -> Iterator[Any]:
        async def open_call() -> Any:
            return start()

        call = self._loop.run(open_call())
        try:
            while True:
                response = self._loop.run(call.read())
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                yield response
        finally:
            self._loop.loop.call_soon_threadsafe(call.cancel)

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        raise NotImplementedError(
            "a service channel spans several connections; use get_state() on the async one"
        )

    def unsubscribe(self, callback: Any) -> None:
        raise NotImplementedError("a service channel spans several connections")

    def close(self) -> None:
        self._loop.run(self._channel.close(None))

    def __enter__(self) -> SyncServiceChannel:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncRegistryClient:
    """`RegistryClient` with blocking methods; see the module docstring. Thread-safe."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        degrade: bool = False,
        picker: PickerName = "round-robin",
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
    ) -> None:
        self._loop = _Loop()
        self.client = RegistryClient(
            config,
            degrade=degrade,
            picker=picker,
            failure_threshold=failure_threshold,
            reset_timeout=reset_timeout,
        )
        """The async client underneath (use it only from coroutines run on this facade's loop)."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, degrade: bool = False, **settings: Any
    ) -> SyncRegistryClient:
        return cls(ClientConfig.from_env(env, **settings), degrade=degrade)

    @property
    def config(self) -> ClientConfig:
        return self.client.config

    def close(self) -> None:
        """Leave gracefully (goodbye, deregister, close), then stop the background thread."""
        try:
            self._loop.run(self.client.close())
        finally:
            self._loop.stop()

    def __enter__(self) -> SyncRegistryClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def register(self, *endpoints: Endpoint | str, **options: Unpack[RegisterOptions]) -> SyncRegistration:
        """See `RegistryClient.register`. `load` and `on_drain` run on the client's thread."""
        registration = self._loop.run(self.client.register(*endpoints, **options))
        return SyncRegistration(registration, self._loop)

    def resolve(self, service: str, filters: Filters = ANY) -> list[Instance]:
        return self._loop.run(self.client.resolve(service, filters))

    def pick(self, service: str, filters: Filters = ANY) -> Instance:
        return self._loop.run(self.client.pick(service, filters))

    def channel(
        self,
        service: str,
        *,
        filters: Filters = ANY,
        picker: PickerName | None = None,
        options: Sequence[tuple[str, Any]] = (),
        ready: bool = True,
    ) -> SyncServiceChannel:
        channel = self._loop.run(
            self.client.channel(service, filters=filters, picker=picker, options=options, ready=ready)
        )
        return SyncServiceChannel(channel, self._loop)

    def send(
        self, target: str, command: str, payload: Payload = None, **options: Unpack[SendOptions]
    ) -> Reply:
        return self._loop.run(self.client.send(target, command, payload, **options))

    def query(
        self, target: str, name: str, payload: Payload = None, **options: Unpack[QueryOptions]
    ) -> Reply:
        return self._loop.run(self.client.query(target, name, payload, **options))

    def publish(
        self, topic: str, payload: Payload = None, **options: Unpack[PublishOptions]
    ) -> Published | Literal[False]:
        return self._loop.run(self.client.publish(topic, payload, **options))

    def subscribe(
        self,
        *topics: str,
        after_sequence: int | None = None,
        tenant_id: str = "",
        sources: Sequence[str] = (),
    ) -> SyncSubscription:
        async def open_subscription() -> Subscription:
            return self.client.subscribe(
                *topics, after_sequence=after_sequence, tenant_id=tenant_id, sources=sources
            )

        return SyncSubscription(self._loop.run(open_subscription()), self._loop)

    def serve_inbox(self, inbox: Inbox, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start `inbox` on the client's loop; synchronous handlers run in worker threads."""
        return self._loop.run(self.client.serve_inbox(inbox, host=host, port=port))

    def stop_inbox(self, inbox: Inbox) -> None:
        self._loop.run(inbox.stop())
