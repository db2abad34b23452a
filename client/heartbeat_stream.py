"""One bound Heartbeat call: beating at the registration's interval, applying acks and directives.

The stream knows its registration only through `StreamOwner`, the few things it reads and tells
(interval, load, status, directives, counters), which the registration hands over when it opens a
stream. The reconnect loop that opens, rotates and retires streams is `client/registration.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from client._convert import duration, timestamp
from client._proto import heartbeat_pb
from client._tasks import cancel_and_wait
from client.errors import RegistryClientError, from_rpc_error
from client.model import HealthStatus, Load
from client.registration_stats import RegistrationStats

SILENT_INTERVALS = 4
"""Heartbeat intervals without any ack (at least the call timeout) before a stream is replaced."""


class SilentRegistryError(Exception):
    """The registry holds the stream open but acknowledges nothing."""


class Outcome(enum.Enum):
    """How a stream asks its registration to go on, besides ending with an error."""

    REREGISTER = "reregister"


@dataclass(frozen=True, slots=True)
class StreamOwner:
    """What a stream needs from its registration."""

    stats: RegistrationStats
    interval: Callable[[], float]
    """Seconds between beats, read before each wait (SET_INTERVAL changes it)."""
    interval_changed: asyncio.Event
    """Set to wake the writer at once (new interval, or the stream is stopping)."""
    load: Callable[[], Load | None]
    set_status: Callable[[HealthStatus], None]
    follow: Callable[[heartbeat_pb.Directive], Outcome | None]
    call_timeout: float


class HeartbeatStream:
    """One bound Heartbeat call: a writer beating at the registration's interval and a reader
    applying acks and directives. `outcome` resolves when the stream ends (with the error) or asks
    to re-register."""

    def __init__(self, call: Any, owner: StreamOwner, lifetime: float) -> None:
        self.call = call
        self.lifetime = lifetime
        self._owner = owner
        self._stop = asyncio.Event()
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._sent: dict[int, float] = {}
        self._last_rtt: float | None = None
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    async def _write(self) -> None:
        sequence = 0
        try:
            while not self._stop.is_set():
                if self._unanswered():
                    self._end(SilentRegistryError("the registry stopped acknowledging beats"))
                    return
                sequence += 1
                await self.call.write(self._beat(sequence))
                self._owner.stats.beats += 1
                wake = self._owner.interval_changed
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(
                        self._owner.interval()
                    ):  # not wait_for (see Registration._once)
                        await wake.wait()
        except (grpc.RpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            return  # the call ended; the reader reports how (it sees the status, we do not)

    def _unanswered(self) -> bool:
        """True when the oldest beat still waiting for its ack is older than SILENT_INTERVALS
        intervals (and the call timeout): the registry is alive to TCP but not answering (paused,
        or cut off and fenced), so the stream is dropped and bound again, on another replica of
        a cluster, long before keepalive would notice."""
        if not self._sent:
            return False
        limit = max(SILENT_INTERVALS * self._owner.interval(), self._owner.call_timeout)
        return time.monotonic() - min(self._sent.values()) > limit

    def _beat(self, sequence: int) -> heartbeat_pb.HeartbeatRequest:
        now = time.time()
        beat = heartbeat_pb.Beat(sequence=sequence, send_time=timestamp(now))
        if self._last_rtt is not None:
            beat.last_rtt.CopyFrom(duration(self._last_rtt))
        load = self._owner.load()
        if load is not None:
            beat.load.CopyFrom(load.to_proto())
        self._sent[sequence] = time.monotonic()
        if len(self._sent) > 16:  # acks lost on a dying stream must not pile up
            del self._sent[min(self._sent)]
        return heartbeat_pb.HeartbeatRequest(beat=beat)

    async def _read(self) -> None:
        try:
            while True:
                response = await self.call.read()
                if not isinstance(response, heartbeat_pb.HeartbeatResponse):  # EOF
                    self._end(None)
                    return
                self._handle(response)
        except grpc.RpcError as error:
            self._end(error)

    def _handle(self, response: heartbeat_pb.HeartbeatResponse) -> None:
        owner = self._owner
        kind = response.WhichOneof("kind")
        if kind == "ack":
            owner.stats.acks += 1
            sent = self._sent.pop(response.ack.sequence, None)
            if sent is not None:
                self._last_rtt = time.monotonic() - sent
            owner.set_status(HealthStatus(response.ack.status or HealthStatus.UNKNOWN))
        elif kind == "directive":
            outcome = owner.follow(response.directive)
            if outcome is not None and not self.outcome.done():
                self.outcome.set_result(outcome)

    def _end(self, error: BaseException | None) -> None:
        if self.outcome.done():
            return
        if isinstance(error, grpc.RpcError):
            self.outcome.set_exception(from_rpc_error(error))
        else:
            detail = (
                f"heartbeat stream ended: {error}" if error else "heartbeat stream closed by the registry"
            )
            self.outcome.set_exception(StreamClosedError(detail))
        self.outcome.exception()  # consumed here: an abandoned stream's error is not a warning

    async def goodbye(self, reason: int) -> None:
        """Stop beating and end the stream on purpose; waits, at most the call timeout in all, for
        the registry to close it (a stalled stream is then simply dropped by `retire`)."""
        self._stop.set()
        self._owner.interval_changed.set()
        goodbye = heartbeat_pb.HeartbeatGoodbye(reason=heartbeat_pb.GoodbyeReason.ValueType(reason))
        with contextlib.suppress(TimeoutError, grpc.RpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            async with asyncio.timeout(self._owner.call_timeout):
                await asyncio.gather(self._tasks[1], return_exceptions=True)
                await self.call.write(heartbeat_pb.HeartbeatRequest(goodbye=goodbye))
                await self.call.done_writing()
                await asyncio.wait({self.outcome})

    async def retire(self) -> None:
        """Drop the stream (after a successor took over, or after it failed)."""
        self._stop.set()
        await cancel_and_wait(*self._tasks)
        # Half-close first so grpc's request pump (behind the interceptors) ends normally instead
        # of being torn down mid-await by the cancel, which it reports as "generator already
        # running" noise.
        with contextlib.suppress(grpc.RpcError, grpc.aio.UsageError, asyncio.InvalidStateError, TimeoutError):
            async with asyncio.timeout(0.1):
                await self.call.done_writing()
        self.call.cancel()


class StreamClosedError(RegistryClientError):
    """The stream ended without a status (closed by the registry, or no answer to bind)."""

    code = grpc.StatusCode.UNAVAILABLE
