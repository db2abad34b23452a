"""The registry's side of InboxService: pooled channels to instances and the traced forward.

One grpc.aio channel per instance (HTTP/2 multiplexes every concurrent delivery over it), opened
on first use and kept in an LRU pool of at most `max_channels`; the least recently used channel
is closed when the pool is full. The relay forgets an instance's channel when the instance
leaves the catalog; a channel whose instance re-registered at another address is replaced on the
next use. Closing waits up to CLOSE_GRACE_SECONDS for deliveries still in flight on it.

Each forward runs in a CLIENT span (a child of the Send span) whose W3C context travels in the
call's metadata, and with the time left of the caller's deadline as the call's own deadline, which
gRPC hands on to the target. A target's error status comes back as TargetError with the same code
and details.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry import trace

from generated.registry.v1 import inbox_service_pb2 as ipb
from registry.api.relay_convert import envelope_message, reply_from_proto
from registry.core.errors import TargetError
from registry.core.messages import Envelope, Reply
from registry.core.model import InstanceKey
from registry.core.ports import Target
from registry.telemetry import current_carrier

log = logging.getLogger(__name__)

DELIVER_METHOD = "/{}/{}".format(
    ipb.DESCRIPTOR.services_by_name["InboxService"].full_name,
    ipb.DESCRIPTOR.services_by_name["InboxService"].methods_by_name["Deliver"].name,
)
CLOSE_GRACE_SECONDS = 5.0
_SPAN_NAME = DELIVER_METHOD[1:]
_SERVICE, _, _METHOD = _SPAN_NAME.partition("/")


@dataclass(slots=True)
class _Entry:
    address: str
    channel: grpc.aio.Channel
    deliver: grpc.aio.UnaryUnaryMultiCallable[ipb.DeliverRequest, ipb.DeliverResponse]


class InboxClient:
    """A `registry.core.relay.Forwarder` over gRPC. `close` at shutdown."""

    def __init__(self, tracer: trace.Tracer, *, max_channels: int, max_message_bytes: int) -> None:
        self._tracer = tracer
        self._max_channels = max_channels
        self._options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.enable_retries", 0),  # the relay decides about retries, once, on another instance
        ]
        self._pool: OrderedDict[InstanceKey, _Entry] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def open_channels(self) -> int:
        return len(self._pool)

    async def deliver(self, target: Target, envelope: Envelope, token: str, time_left: float) -> Reply:
        entry = self._entry(target)
        request = ipb.DeliverRequest(envelope=envelope_message(envelope), delivery_token=token)
        if not trace.get_current_span().is_recording():
            # Nothing is exported, so no CLIENT span: the forward carries the Send span's context
            # (the envelope's), which is all the target needs to continue the trace.
            return await _call(entry, request, time_left, tuple(envelope.trace_context.items()))
        attributes: dict[str, str | int] = {
            "rpc.system": "grpc",
            "rpc.service": _SERVICE,
            "rpc.method": _METHOD,
            "server.address": target.host,
            "server.port": target.port,
            "registry.instance_id": target.key[1],
        }
        with self._tracer.start_as_current_span(
            _SPAN_NAME,
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                reply = await _call(entry, request, time_left, tuple(current_carrier().items()))
            except TargetError as error:
                span.set_attribute("rpc.grpc.status_code", error.code)
                span.set_status(trace.StatusCode.ERROR, _CODE_NAMES.get(error.code, "UNKNOWN"))
                raise
            span.set_attribute("rpc.grpc.status_code", 0)
        return reply

    def forget(self, key: InstanceKey) -> None:
        entry = self._pool.pop(key, None)
        if entry is not None:
            self._close_later(entry)

    async def close(self) -> None:
        """Close every channel, waiting (bounded) for deliveries in flight."""
        while self._pool:
            self._close_later(self._pool.popitem()[1])
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _entry(self, target: Target) -> _Entry:
        address = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
        entry = self._pool.get(target.key)
        if entry is not None and entry.address == address:
            self._pool.move_to_end(target.key)
            return entry
        if entry is not None:
            self.forget(target.key)
        channel = grpc.aio.insecure_channel(address, options=self._options)
        deliver = channel.unary_unary(
            DELIVER_METHOD,
            request_serializer=ipb.DeliverRequest.SerializeToString,
            response_deserializer=ipb.DeliverResponse.FromString,
        )
        entry = self._pool[target.key] = _Entry(address, channel, deliver)
        while len(self._pool) > self._max_channels:
            self._close_later(self._pool.popitem(last=False)[1])
        return entry

    def _close_later(self, entry: _Entry) -> None:
        task = asyncio.get_running_loop().create_task(entry.channel.close(CLOSE_GRACE_SECONDS))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


async def _call(
    entry: _Entry, request: ipb.DeliverRequest, time_left: float, metadata: tuple[tuple[str, str], ...]
) -> Reply:
    try:
        response = await entry.deliver(request, timeout=time_left, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        code = error.code()
        raise TargetError(code.value[0], error.details() or code.name) from None
    return reply_from_proto(response.reply)
