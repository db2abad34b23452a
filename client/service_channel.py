"""A grpc.aio channel to a service *name*: each call goes to a serving instance, chosen by a picker
from the discovery cache, and a dead instance stops being chosen.

Use it like any channel (`orders_pb2_grpc.OrdersStub(await client.channel("orders"))`). Per call:

1. the target's circuit breaker is asked first (an open circuit raises `CircuitOpenError` at the
   call site, before anything is sent);
2. the picker chooses among the instances discovery says are serving, minus those this channel
   saw fail with UNAVAILABLE or DEADLINE_EXCEEDED in the last `ejection_time` seconds (unless
   that would leave none);
3. the call runs on a sub-channel to that instance (one per instance, opened on first use), with
   the SDK's default deadline when the caller gave none for a unary call;
4. its outcome feeds the breaker, the ejection list and the least-loaded accounting.

When the registry reports an instance gone or no longer serving (its heartbeat stream broke, it
drained, it was deregistered), its sub-channel is closed after a grace period for calls in flight.
Failover therefore needs no failed call at all when the registry notices first, and at most one
failed call per instance when the caller does.

Limits: at most `max_subchannels` (64) open sub-channels; the least recently used one is closed
to make room.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc

from client.breaker import CircuitBreaker
from client.discovery import Filters, LoadBoard, ServiceView
from client.errors import NoInstanceError, UnavailableError
from client.model import Instance, Protocol
from client.pickers import Picker

_FAILED = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)
"""Outcomes that count against the target's breaker (see breaker.counts_as_failure)."""
_EJECTING = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
"""Outcomes that say the instance itself did not answer: skip it for `ejection_time`."""


@dataclass(eq=False)
class _Subchannel:
    instance_id: str
    address: str
    channel: grpc.aio.Channel
    callables: dict[tuple[str, str], Any] = field(default_factory=dict)


class ServiceChannel(grpc.aio.Channel):
    """Calls to one service, spread over its serving instances; see the module docstring."""

    def __init__(
        self,
        view: ServiceView,
        *,
        filters: Filters,
        picker: Picker,
        breaker: CircuitBreaker,
        loads: LoadBoard,
        call_timeout: float,
        options: Sequence[tuple[str, Any]] = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        ejection_time: float = 5.0,
        max_subchannels: int = 64,
    ) -> None:
        self.service = view.service
        self._view = view
        self._filters = filters
        self._picker = picker
        self._breaker = breaker
        self._loads = loads
        self._call_timeout = call_timeout
        self._options = list(options)
        self._interceptors = list(interceptors)
        self._ejection_time = ejection_time
        self._max = max_subchannels
        self._subchannels: OrderedDict[str, _Subchannel] = OrderedDict()
        self._ejected: dict[str, float] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._closed = False
        view.users += 1
        view.add_listener(self._on_change)

    # -- choosing ------------------------------------------------------------------------------

    def candidates(self) -> list[Instance]:
        """Serving instances with a gRPC endpoint, minus recently failed ones (unless that is all)."""
        serving = [i for i in self._view.select(self._filters) if i.grpc_endpoint is not None]
        now = time.monotonic()
        fresh = [i for i in serving if self._ejected.get(i.instance_id, 0.0) <= now]
        return fresh or serving

    def pick(self) -> tuple[Instance, grpc.aio.Channel]:
        """The instance the next call goes to, and the sub-channel to it."""
        candidates = self.candidates()
        if not candidates:
            raise NoInstanceError(self.service)
        instance = self._picker.pick(candidates)
        return instance, self._subchannel(instance).channel

    def _subchannel(self, instance: Instance) -> _Subchannel:
        endpoint = instance.grpc_endpoint
        assert endpoint is not None  # candidates() keeps only instances with one
        existing = self._subchannels.get(instance.instance_id)
        if existing is not None and existing.address == endpoint.address:
            self._subchannels.move_to_end(instance.instance_id)
            return existing
        if existing is not None:
            self._drop(instance.instance_id, grace=None)
        if len(self._subchannels) >= self._max:
            self._drop(next(iter(self._subchannels)), grace=self._call_timeout)
        if endpoint.protocol is Protocol.GRPCS:
            channel = grpc.aio.secure_channel(
                endpoint.address,
                grpc.ssl_channel_credentials(),
                options=self._options,
                interceptors=self._interceptors,
            )
        else:
            channel = grpc.aio.insecure_channel(
                endpoint.address, options=self._options, interceptors=self._interceptors
            )
        sub = _Subchannel(instance.instance_id, endpoint.address, channel)
        self._subchannels[instance.instance_id] = sub
        return sub

    def _on_change(self, view: ServiceView) -> None:
        serving = {i.instance_id for i in view.select(self._filters)}
        for instance_id in [i for i in self._subchannels if i not in serving]:
            self._drop(instance_id, grace=self._call_timeout)
        for instance_id in [i for i in self._ejected if i not in serving]:
            del self._ejected[instance_id]

    def _drop(self, instance_id: str, grace: float | None) -> None:
        sub = self._subchannels.pop(instance_id, None)
        if sub is not None:
            self._spawn(sub.channel.close(grace))

    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- calling -------------------------------------------------------------------------------

    def _start(self, kind: str, method: str, codec: tuple[Any, Any], request: Any, kw: Any) -> Any:
        if self._closed:
            raise UnavailableError(f"channel to {self.service!r} is closed")
        self._breaker.acquire()
        try:
            instance, _ = self.pick()
        except NoInstanceError:
            self._breaker.record_failure()
            raise
        sub = self._subchannel(instance)
        key = (kind, method)
        multi = sub.callables.get(key)
        if multi is None:
            multi = getattr(sub.channel, kind)(method, *codec)
            sub.callables[key] = multi
        if kw.get("timeout") is None and kind in ("unary_unary", "stream_unary"):
            kw["timeout"] = self._call_timeout
        call = multi(request, **kw)
        self._loads.begin(instance)
        call.add_done_callback(lambda done: self._spawn(self._finished(instance, done)))
        return call

    async def _finished(self, instance: Instance, call: Any) -> None:
        self._loads.end(instance)
        code = await call.code()
        if code == grpc.StatusCode.CANCELLED:
            self._breaker.release()
        elif code in _FAILED:
            self._breaker.record_failure()
            if code in _EJECTING:
                self._ejected[instance.instance_id] = time.monotonic() + self._ejection_time
        else:
            self._breaker.record_success()

    def unary_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        return _Callable(self._start, "unary_unary", method, request_serializer, response_deserializer)

    def unary_stream(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        return _Callable(self._start, "unary_stream", method, request_serializer, response_deserializer)

    def stream_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        return _Callable(self._start, "stream_unary", method, request_serializer, response_deserializer)

    def stream_stream(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **_: Any
    ) -> Any:
        return _Callable(self._start, "stream_stream", method, request_serializer, response_deserializer)

    # -- channel protocol ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def channel_ready(self) -> None:
        """Wait until a sub-channel to some serving instance is connected, trying each candidate
        for at most the call timeout."""
        tried: set[str] = set()
        while True:
            left = [i for i in self.candidates() if i.instance_id not in tried]
            if not left:
                raise NoInstanceError(self.service)
            instance = self._picker.pick(left)
            tried.add(instance.instance_id)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._call_timeout):
                    await self._subchannel(instance).channel.channel_ready()
                return
            self._ejected[instance.instance_id] = time.monotonic() + self._ejection_time

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        """The best state among the sub-channels (READY if any is)."""
        states = [s.channel.get_state(try_to_connect) for s in self._subchannels.values()]
        for state in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.CONNECTING):
            if state in states:
                return state
        return states[0] if states else grpc.ChannelConnectivity.IDLE

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        """Wait until `get_state()` differs from `last_observed_state`."""
        while self.get_state() == last_observed_state:
            if not self._subchannels:
                self.pick()  # opens a sub-channel to watch (NoInstanceError when there is none)
            waits = [
                asyncio.ensure_future(s.channel.wait_for_state_change(s.channel.get_state()))
                for s in self._subchannels.values()
            ]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()

    async def close(self, grace: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        self._view.remove_listener(self._on_change)
        self._view.users -= 1
        subs, self._subchannels = list(self._subchannels.values()), OrderedDict()
        await asyncio.gather(*(s.channel.close(grace) for s in subs), *self._tasks, return_exceptions=True)

    async def __aenter__(self) -> ServiceChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close(None)


_Start = Callable[[str, str, tuple[Any, Any], Any, Any], Any]
"""ServiceChannel._start, handed to each method's callable by the channel that owns it."""


class _Callable:
    """What a stub holds for one method: picks the instance at each call."""

    def __init__(self, start: _Start, kind: str, method: str, serializer: Any, deserializer: Any) -> None:
        self._start = start
        self._kind = kind
        self._method = method
        self._codec = (serializer, deserializer)

    def __call__(self, request: Any = None, **kwargs: Any) -> Any:
        return self._start(self._kind, self._method, self._codec, request, kwargs)
