"""The console's push channel: Server-Sent Events, bounded per page, cut when a page is slow.

Why SSE over a fetch stream, not WebSocket and not EventSource: the page sends its token in the
`Authorization` header (EventSource cannot set headers, and a token in the URL would end up in
logs), the data flows one way, and a plain HTTP response needs no second protocol.

Memory per page is bounded twice. What the page has not been sent yet waits in the core's own
bounded queue (the catalog watcher's `watch_buffer`, the event subscriber's buffer), which cuts a
reader that falls behind exactly like a slow gRPC watcher; and a write that the page does not
take within `LIMITS.console_write_timeout_seconds` ends the response, so a stalled tab holds no
more than the socket buffers. A cut page reconnects and resumes (the fleet after its last revision).

Open streams are limited per caller (the token's subject) and in total, like every resource a
caller can grow.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from registry.core.errors import Reason, limit_reached
from registry.core.limits import LIMITS

KEEPALIVE_SECONDS = 15.0
"""A comment frame after this much silence, so a vanished page is noticed and proxies keep the line."""


class SlowPage(Exception):
    """The page did not read a frame within its write timeout."""


class StreamLimits:
    """Counts open push streams per caller and in total."""

    def __init__(
        self, total: int = LIMITS.console_streams, per_caller: int = LIMITS.console_streams_per_caller
    ) -> None:
        self._total = total
        self._per_caller = per_caller
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return self._open.total()

    @contextmanager
    def slot(self, caller: str) -> Iterator[None]:
        if self._open.total() >= self._total:
            raise limit_reached(
                Reason.TOO_MANY_CONSOLE_STREAMS,
                f"the console serves its maximum of {self._total} live streams",
                self._total,
            )
        if self._open[caller] >= self._per_caller:
            raise limit_reached(
                Reason.TOO_MANY_CONSOLE_STREAMS,
                f"{caller!r} holds its maximum of {self._per_caller} console streams; close a tab",
                self._per_caller,
            )
        self._open[caller] += 1
        try:
            yield
        finally:
            self._open[caller] -= 1
            if not self._open[caller]:
                del self._open[caller]


class EventStream:
    """One open `text/event-stream` response."""

    def __init__(self, response: web.StreamResponse, write_timeout: float) -> None:
        self._response = response
        self._write_timeout = write_timeout
        self._loop = asyncio.get_running_loop()
        self.last_write = self._loop.time()

    @classmethod
    async def open(
        cls, request: web.Request, write_timeout: float = LIMITS.console_write_timeout_seconds
    ) -> EventStream:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        return cls(response, write_timeout)

    @property
    def response(self) -> web.StreamResponse:
        return self._response

    async def send(self, event: str, data: Any) -> None:
        """One frame; raises SlowPage when the page does not take it in time."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        await self._write(f"event: {event}\ndata: {body}\n\n".encode())

    async def keepalive(self) -> None:
        if self._loop.time() - self.last_write >= KEEPALIVE_SECONDS:
            await self._write(b":\n\n")

    async def _write(self, frame: bytes) -> None:
        try:
            async with asyncio.timeout(self._write_timeout):
                await self._response.write(frame)
        except TimeoutError as exc:
            raise SlowPage from exc
        self.last_write = self._loop.time()
