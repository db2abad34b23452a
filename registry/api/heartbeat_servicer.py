"""HeartbeatService: the liveness stream and the health reads, translated to `registry.core.liveness`.

The Heartbeat handler is a coroutine in grpc.aio's reader/writer style rather than an async
generator, because the registry must push directives at any time, not only in answer to a beat:
every write goes through `_Stream.send`, which keeps one write in flight per call (grpc allows no
more): acks are written in turn by the handler itself, and only a stream that was pushed a
directive gets a lock to share with the pushes. A stream is ended from outside (take-over, removal) by
cancelling its handler task with the error recorded first, so the handler can tell that from a
client that went away, which grpc reports either as the end of the request iterator (SIGKILL:
no exception) or as a cancellation. Any end without a goodbye releases the binding as broken,
from the handler's `finally` and from the call's done-callback, whichever comes first.

Nothing is logged or traced per beat, and no message is built for an ack: acks are bytes written by
hand (`registry.wire.beat_ack`), which the Heartbeat method's serializer passes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc

from generated.registry.v1 import heartbeat_service_pb2 as pb
from generated.registry.v1 import heartbeat_service_pb2_grpc as pb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from registry.api.convert import duration_message, policy_message, seconds, timestamp_message
from registry.auth.identity import current_identity
from registry.auth.policy import require_service
from registry.core import paging, validation
from registry.core.errors import FailedPrecondition, InvalidArgument, NotFound, Reason, RegistryError
from registry.core.liveness import (
    Binding,
    Directive,
    DirectiveType,
    GoodbyeReason,
    InstanceHealth,
    Liveness,
    Load,
    StatusCounts,
    make_load,
)
from registry.core.model import HealthStatus
from registry.wire.beat_ack import AckEncoder
from registry.wire.binding import ServiceBinding
from registry.wire.preencoded import add_preencoded
from registry.wire.status import maps_domain_errors

Context = grpc.aio.ServicerContext[Any, Any]

_GOODBYES = {int(member): member for member in GoodbyeReason}
_ACKS = AckEncoder()
FINAL_WRITE_SECONDS = 5.0
"""How long the directive that ends a stream (REREGISTER on removal) waits for a slow client to read
the acks written before it."""
_REREGISTER = Directive(DirectiveType.REREGISTER, "the instance is not registered; register again, then bind")


def _status(status: HealthStatus) -> ipb.HealthStatus.ValueType:
    return cast(ipb.HealthStatus.ValueType, status)


def _directive(directive: Directive) -> pb.HeartbeatResponse:
    message = pb.Directive(type=cast(pb.DirectiveType.ValueType, directive.type), reason=directive.reason)
    if directive.interval is not None:
        message.interval.CopyFrom(duration_message(directive.interval))
    return pb.HeartbeatResponse(directive=message)


def _load_message(load: Load) -> pb.Load:
    return pb.Load(in_flight=load.in_flight, cpu=load.cpu, gauges=dict(load.gauges))


def _health(health: InstanceHealth) -> pb.InstanceHealth:
    message = pb.InstanceHealth(
        service_name=health.service_name,
        instance_id=health.instance_id,
        status=_status(health.status),
        policy=policy_message(health.policy),
        stream_connected=health.stream_connected,
        heartbeat_count=health.heartbeat_count,
        missed_heartbeats=health.missed_heartbeats,
        consecutive_failures=health.consecutive_failures,
        average_latency_ms=health.average_latency_ms,
        min_latency_ms=health.min_latency_ms,
        max_latency_ms=health.max_latency_ms,
        uptime_seconds=health.uptime_seconds,
        uptime_percentage=health.uptime_percentage,
        seconds_since_last=health.seconds_since_last,
    )
    if health.last_heartbeat_time is not None:
        message.last_heartbeat_time.CopyFrom(timestamp_message(health.last_heartbeat_time))
    if health.load is not None:
        message.load.CopyFrom(_load_message(health.load))
    return message


def _counts(counts: StatusCounts) -> pb.StatusCounts:
    return pb.StatusCounts(
        unknown=counts.get(HealthStatus.UNKNOWN, 0),
        healthy=counts.get(HealthStatus.HEALTHY, 0),
        degraded=counts.get(HealthStatus.DEGRADED, 0),
        critical=counts.get(HealthStatus.CRITICAL, 0),
        dead=counts.get(HealthStatus.DEAD, 0),
        draining=counts.get(HealthStatus.DRAINING, 0),
    )


class _Pushes:
    """What a stream that was pushed a directive needs: the lock every write then takes, the
    push tasks in flight, and a way to wait for the handler's write that was in flight without
    the lock when the first push came."""

    __slots__ = ("idle", "lock", "tasks")

    def __init__(self, handler_writing: bool) -> None:
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()
        self.idle: asyncio.Event | None = asyncio.Event() if handler_writing else None


class _Stream:
    """One Heartbeat call as liveness sees it (a `StreamSink`): sends, directives and ending.

    Most streams are never pushed a directive, so they hold no lock and no task set: until the
    first push, the handler is the only writer and writes in turn. The first push brings a
    `_Pushes`, and from then on every write takes its lock."""

    __slots__ = ("_context", "_pushes", "_task", "_writing", "binding", "ending", "final")

    def __init__(self, context: Context) -> None:
        task = asyncio.current_task()
        assert task is not None, "a gRPC handler always runs in a task"
        self._task = task
        self._context = context
        self._pushes: _Pushes | None = None
        self._writing = False
        self.binding: Binding | None = None
        self.ending: RegistryError | None = None
        self.final: Directive | None = None

    async def send(self, response: pb.HeartbeatResponse | bytes) -> None:
        pushes = self._pushes
        if pushes is None:
            self._writing = True
            try:
                await self._context.write(response)
            finally:
                self._writing = False
                if self._pushes is not None and self._pushes.idle is not None:
                    self._pushes.idle.set()  # a push came meanwhile and waits for this write
            return
        async with pushes.lock:
            if pushes.idle is not None:
                await pushes.idle.wait()
                pushes.idle = None
            await self._context.write(response)

    def push(self, directive: Directive) -> None:
        if self._pushes is None:
            self._pushes = _Pushes(handler_writing=self._writing)
        tasks = self._pushes.tasks
        task = asyncio.get_running_loop().create_task(self._push(_directive(directive)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _push(self, response: pb.HeartbeatResponse) -> None:
        with contextlib.suppress(Exception):  # the call ended meanwhile: nobody to tell
            await self.send(response)

    def call_done(self, _context: object) -> None:
        """The call ended (grpc's done-callback): a binding still held is broken."""
        if self.binding is not None:
            self.binding.release()

    def end(self, error: RegistryError, final: Directive | None = None) -> None:
        if self.ending is None:
            self.ending, self.final = error, final
            self._task.cancel()

    async def finish(self) -> RegistryError:
        """After our own cancellation: send the final directive; the error to end with."""
        self._task.uncancel()
        assert self.ending is not None
        if self.final is not None:
            await self._send_final(_directive(self.final))
        return self.ending

    async def _send_final(self, response: pb.HeartbeatResponse) -> None:
        """Write the final directive, which must reach the client before the status. The handler
        may have been cancelled in the middle of writing an ack (a client slow to read: the write
        waits on flow control); grpc keeps that write in flight until the client reads, and
        refuses another one meanwhile (TOO_MANY_OPERATIONS). So the directive is tried again,
        backing off, until that write is through, while the call lives, for at most
        FINAL_WRITE_SECONDS: a client that reads nothing for that long gets the status alone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINAL_WRITE_SECONDS
        pause = 0.001
        while True:
            try:
                await self.send(response)
            except Exception:
                if self._context.done() or loop.time() + pause > deadline:
                    return  # the call ended, or the client never read: nobody to tell
            else:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)


HEARTBEAT_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["HeartbeatService"].full_name


@maps_domain_errors
class HeartbeatServicer(pb_grpc.HeartbeatServiceServicer):
    def __init__(self, liveness: Liveness) -> None:
        self._liveness = liveness

    def binding(self) -> ServiceBinding:
        return ServiceBinding(
            full_name=HEARTBEAT_SERVICE_NAME,
            # Acks are written as bytes (registry.wire.beat_ack); the serializer passes them through.
            add=functools.partial(
                add_preencoded,
                pb_grpc.add_HeartbeatServiceServicer_to_server,
                self,
                HEARTBEAT_SERVICE_NAME,
                ["Heartbeat"],
            ),
        )

    # The reader/writer style (a coroutine, not a generator) lets directives be written at any time.
    async def Heartbeat(  # type: ignore[override]
        self, request_iterator: AsyncIterator[pb.HeartbeatRequest], context: Context
    ) -> None:
        caller = current_identity().service
        self._liveness.take_stream_slot(caller)
        stream = _Stream(context)
        try:
            await self._serve(stream, aiter(request_iterator), context)
        except asyncio.CancelledError:
            if stream.ending is None:
                raise  # the client went away (or its token expired): not ours to answer
            raise await stream.finish() from None
        finally:
            self._liveness.give_back_stream_slot(caller)

    async def _serve(
        self, stream: _Stream, requests: AsyncIterator[pb.HeartbeatRequest], context: Context
    ) -> None:
        try:
            async with asyncio.timeout(self._liveness.bind_timeout):
                first = await anext(requests, None)
        except TimeoutError:
            raise FailedPrecondition(
                f"no bind within {self._liveness.bind_timeout:g}s of opening the stream",
                reason=Reason.BIND_TIMEOUT,
            ) from None
        if first is None:
            return
        if first.WhichOneof("kind") != "bind":
            raise InvalidArgument("bind", "the first message of a heartbeat stream must be bind")
        bind = first.bind
        validation.service_name(bind.service_name, "bind.service_name")
        validation.instance_id(bind.instance_id, "bind.instance_id")
        require_service(current_identity(), bind.service_name)
        try:
            binding = self._liveness.bind(
                (bind.service_name, bind.instance_id), stream, take_over=bind.take_over
            )
        except NotFound:
            await stream.send(_directive(_REREGISTER))
            raise
        stream.binding = binding
        # grpc-stubs types the callback as a class; any callable taking the context will do.
        context.add_done_callback(cast("grpc.aio.DoneCallback[Any, Any]", stream.call_done))
        try:
            bound = pb.HeartbeatBound(policy=policy_message(binding.policy), status=_status(binding.status))
            await stream.send(pb.HeartbeatResponse(bound=bound))
            if binding.drain_reason is not None:
                await stream.send(_directive(Directive(DirectiveType.DRAIN, binding.drain_reason)))
            await self._beats(stream, requests, binding)
        finally:
            binding.release()

    @staticmethod
    async def _beats(stream: _Stream, requests: AsyncIterator[pb.HeartbeatRequest], binding: Binding) -> None:
        ack = _ACKS.ack
        send = stream.send
        record = binding.beat
        async for request in requests:
            kind = request.WhichOneof("kind")
            if kind == "beat":
                beat = request.beat
                sequence = beat.sequence
                rtt = load = sent = None
                # Each optional field read once (a wrapper per access with upb).
                if beat.HasField("send_time"):
                    sent = seconds(beat.send_time)
                if beat.HasField("last_rtt"):
                    rtt = seconds(beat.last_rtt) * 1000
                if beat.HasField("load"):
                    value = beat.load
                    load = make_load(value.in_flight, value.cpu, value.gauges)
                await send(ack(sequence, record(sequence, rtt, load, sent)))
            elif kind == "goodbye":
                reason = _GOODBYES.get(request.goodbye.reason)
                if reason is None:
                    raise InvalidArgument("goodbye.reason", "required: DRAIN or STOP")
                binding.goodbye(reason)
                return
            else:
                raise InvalidArgument("bind", "the stream is already bound; send beats or a goodbye")

    async def GetInstanceHealth(
        self, request: pb.GetInstanceHealthRequest, context: Context
    ) -> pb.GetInstanceHealthResponse:
        key = validation.instance_key(request.service_name, request.instance_id)
        return pb.GetInstanceHealthResponse(health=_health(self._liveness.health(key)))

    async def ListInstanceHealth(
        self, request: pb.ListInstanceHealthRequest, context: Context
    ) -> pb.ListInstanceHealthResponse:
        size = validation.page_size(request.page_size)
        service_name = request.service_name
        if service_name:
            validation.service_name(service_name, "service_name")
        scope = f"health:{service_name}"
        after = paging.decode(request.page_token, scope, 2)
        healths, last = self._liveness.health_page(
            service_name, None if after is None else (after[0], after[1]), size
        )
        token = "" if last is None else paging.encode(last, scope)
        return pb.ListInstanceHealthResponse(healths=[_health(h) for h in healths], next_page_token=token)

    async def GetHealthSummary(
        self, request: pb.GetHealthSummaryRequest, context: Context
    ) -> pb.GetHealthSummaryResponse:
        summary = self._liveness.summary()
        return pb.GetHealthSummaryResponse(
            total=_counts(summary.total),
            services=[
                pb.ServiceStatusCounts(service_name=name, counts=_counts(counts))
                for name, counts in summary.services.items()
            ],
            self_preservation_active=summary.self_preservation_active,
            startup_grace_active=summary.startup_grace_active,
            open_streams=summary.open_streams,
        )

    async def DrainInstance(
        self, request: pb.DrainInstanceRequest, context: Context
    ) -> pb.DrainInstanceResponse:
        key = validation.instance_key(request.service_name, request.instance_id)
        require_service(current_identity(), request.service_name)
        validation.drain_reason(request.reason)
        return pb.DrainInstanceResponse(directive_sent=self._liveness.drain(key, request.reason))
