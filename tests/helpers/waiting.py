"""Waiting for a condition in tests that watch something happen in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Return once `condition()` is truthy; fail with TimeoutError after `seconds`. Polls every
    10 ms: the things waited for (a status change, a reconnect) take tens of milliseconds."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)
