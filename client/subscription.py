"""Subscriptions: an async iterator of events that survives disconnects.

It reconnects on failure with backoff and full jitter, resumes after the last sequence the
registry confirmed (so nothing is missed), drops duplicates the at-least-once resume can produce,
and reopens its stream before the token is due for refresh. It reads the stream only when the
consumer asks for the next event, so a slow consumer is back-pressure, never memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import grpc

from client._proto import relay_pb
from client.backoff import Backoff
from client.errors import RegistryClientError, UnavailableError, from_rpc_error
from client.message_types import Message
from client.transport import Transport

log = logging.getLogger(__name__)

DEDUP_WINDOW = 1024
"""Recent event sequences a subscription remembers to drop redelivered duplicates."""


class Subscription:
    """An async iterator of `Message`s that survives disconnects; see the module docstring.

    `resume_after` is the sequence it will resume after; `aclose()` ends it.
    """

    def __init__(
        self,
        transport: Transport,
        event_filter: relay_pb.EventFilter,
        after_sequence: int | None,
        registry: weakref.WeakSet[Subscription],
    ) -> None:
        self._transport = transport
        self._filter = event_filter
        self.resume_after = after_sequence
        self._registry = registry
        config = transport.config
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)
        self._call: Any = None
        self._rotate_at = 0.0
        self._pending: Message | None = None
        self._seen: deque[int] = deque(maxlen=DEDUP_WINDOW)
        self._seen_set: set[int] = set()
        self._closed = False
        self.reconnects = 0
        self.started = asyncio.Event()
        """Set once the registry confirmed the subscription (first `started` response)."""

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        pending, self._pending = self._pending, None
        if pending is not None:
            return pending
        while not self._closed:
            message = await self._step()
            if message is not None:
                return message
        raise StopAsyncIteration

    async def wait_started(self) -> None:
        """Open the stream now and wait until the registry confirms it, so events published from
        here on are delivered (by default a subscription starts at the newest event)."""
        while not self.started.is_set() and not self._closed:
            message = await self._step()
            if message is not None:  # only on a resumed stream; kept for the next __anext__
                self._pending = message
                return

    async def _step(self) -> Message | None:
        """One read, or one failure followed by its backoff."""
        try:
            return await self._next_from_stream()
        except RegistryClientError as error:
            self._drop_call()
            self.reconnects += 1
            delay = self._backoff.next_delay()
            log.info("subscription failed (%s); resuming after %s in %.3fs", error, self.resume_after, delay)
            await asyncio.sleep(delay)
            return None

    async def _next_from_stream(self) -> Message | None:
        """The next new event, or None when the stream was rotated or sent a non-event."""
        if self._call is None:
            self._open()
        remaining = self._rotate_at - time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, remaining)):  # not wait_for (see discovery.py)
                response = await self._call.read()
        except TimeoutError:
            self._drop_call()  # due for a fresh token: reopen, resuming after the last sequence
            return None
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        if not isinstance(response, relay_pb.SubscribeResponse):  # EOF
            raise UnavailableError("the registry ended the subscription")
        self._backoff.reset()
        if response.WhichOneof("kind") == "started":
            self.started.set()
            if self.resume_after is None:
                self.resume_after = response.started.head_sequence
        if response.resume_after_sequence:
            self.resume_after = max(self.resume_after or 0, response.resume_after_sequence)
        if response.WhichOneof("kind") != "event" or self._duplicate(response.event.sequence):
            return None
        return Message.from_proto(response.event)

    def _duplicate(self, sequence: int) -> bool:
        if sequence in self._seen_set:
            return True
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(sequence)
        self._seen_set.add(sequence)
        return False

    def _open(self) -> None:
        transport = self._transport
        request = relay_pb.SubscribeRequest(filter=self._filter)
        if self.resume_after is not None:
            request.after_sequence = self.resume_after
        lifetime = transport.stream_lifetime()
        self._rotate_at = time.monotonic() + lifetime
        self._call = transport.relay.Subscribe(request, timeout=transport.stream_deadline(lifetime))

    def _drop_call(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    async def aclose(self) -> None:
        self._closed = True
        self._drop_call()
        self._registry.discard(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
