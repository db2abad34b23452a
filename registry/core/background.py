"""One background task a component starts once and stops by cancelling it.

The deadline scheduler and the stall clock each run one loop for as long as the registry serves;
both start it in the running loop, start it at most once, and stop it by cancelling and waiting
for it. That life cycle lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundTask:
    """`start()` runs `run()` as a named task (again after a `stop()`); `stop()` cancels it and
    waits until it has ended. Both are idempotent."""

    __slots__ = ("_name", "_run", "_task")

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._run = run
        self._name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
