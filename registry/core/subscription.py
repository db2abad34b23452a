"""One live subscriber's bounded buffer: priority order when it lags, a cut when it falls too far.

The event bus offers every matching event to the buffer synchronously, right after the event is
durable. The subscriber's stream takes them out one at a time. When it keeps up, the buffer holds
at most one event and order is sequence order. When it lags, waiting events leave highest
priority first (CRITICAL, HIGH, NORMAL, LOW; sequence order within a priority), so an alert is
not stuck behind a thousand metrics. When the buffer is full the subscriber is cut: its stream
ends with RESOURCE_EXHAUSTED and it resumes from its last resume point, replaying from disk.

The resume point (`resume_after`) is what makes priority order and at-least-once compatible:
every matching event up to it has been handed to the stream. With an empty buffer that is the
bus head (every event up to the head was offered, and nothing is waiting); otherwise it is just
below the oldest waiting event. A resumed subscriber may therefore see again events that
overtook others, never miss one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from registry.core.errors import (
    Reason,
    RegistryError,
    limit_reached,
)
from registry.core.messages import Envelope, Priority

_HIGHEST_FIRST = sorted(Priority, reverse=True)


class LiveBuffer:
    """Events waiting for one subscriber, one FIFO per priority."""

    def __init__(self, limit: int, head: Callable[[], int]) -> None:
        self._limit = limit
        self._head = head
        self._queues: dict[Priority, deque[Envelope]] = {p: deque() for p in _HIGHEST_FIRST}
        self._size = 0
        self._ready = asyncio.Event()
        self._ended: RegistryError | None = None
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    def offer(self, event: Envelope) -> bool:
        """Queue a matching event; False (and the subscriber is cut) when the buffer is full."""
        if self._size >= self._limit:
            self.end(
                limit_reached(
                    Reason.SUBSCRIBER_TOO_SLOW,
                    f"subscriber fell {self._size} events behind (the buffer limit); resume with "
                    f"after_sequence={self.resume_after()}",
                    self._limit,
                )
            )
            return False
        self._queues[event.priority].append(event)
        self._size += 1
        self._ready.set()
        return True

    def end(self, error: RegistryError | None) -> None:
        """Stop the stream: with `error` raised to the subscriber, or quietly when None."""
        if self._ended is None and not self._closed:
            self._ended = error
            self._closed = error is None
        self._ready.set()

    def resume_after(self) -> int:
        if self._size == 0:
            return self._head()
        return min(q[0].sequence for q in self._queues.values() if q) - 1

    async def take(self) -> tuple[Envelope, int] | None:
        """The next event and the resume point after it; None when the stream ended quietly.
        Raises the error the stream was ended with."""
        while True:
            if self._ended is not None:
                raise self._ended
            if self._closed:
                return None
            if self._size:
                break
            self._ready.clear()
            await self._ready.wait()
        for priority in _HIGHEST_FIRST:
            queue = self._queues[priority]
            if queue:
                event = queue.popleft()
                self._size -= 1
                return event, self.resume_after()
        raise AssertionError("size and queues disagree")  # pragma: no cover
