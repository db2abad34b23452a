"""Stopping the SDK's background tasks for certain.

A task blocked in a grpc.aio call can lose a cancellation that races with the call ending (seen on
Python 3.11 under CPU load: the heartbeat loop went on to its backoff sleep with the cancel gone),
and `close()` would then wait forever. So a task is cancelled again until it is done.
"""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_SECONDS = 0.2
"""How long to wait for a cancelled task before cancelling it again."""


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until every one has ended, whatever it does with the cancellation."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:  # retrieve outcomes, so none is reported as never retrieved
        if not task.cancelled():
            task.exception()
