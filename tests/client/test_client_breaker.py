"""The circuit breaker: its state machine on a controlled clock, and the real thing on `send`
through the registry to a target whose inbox goes down and comes back."""

from __future__ import annotations

import asyncio
import time

import pytest

from client import BreakerState, CircuitBreaker, CircuitOpenError, Inbox, Message, UnavailableError
from client.breaker import BreakerBoard
from client.errors import InvalidArgumentError
from tests.client.conftest import FAST_BEATS, Connect


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read through a call: mypy narrows `breaker.state` after one assert and
    would call the next comparison, after the state changed, impossible."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def fail() -> None:
    raise UnavailableError("down")


async def succeed() -> str:
    return "ok"


async def test_opens_after_threshold_then_half_opens_then_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("ai", failure_threshold=3, reset_timeout=10, clock=clock)
    for _ in range(2):
        with pytest.raises(UnavailableError):
            await breaker.call(fail)
    assert state_of(breaker) is BreakerState.CLOSED
    with pytest.raises(UnavailableError):
        await breaker.call(fail)
    assert state_of(breaker) is BreakerState.OPEN

    clock.now = 9.9
    with pytest.raises(CircuitOpenError) as refused:
        await breaker.call(succeed)
    assert refused.value.retry_after == pytest.approx(0.1)

    clock.now = 10.0
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert await breaker.call(succeed) == "ok"
    assert state_of(breaker) is BreakerState.CLOSED


async def test_a_failed_trial_reopens_and_only_one_trial_runs_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker("ai", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(UnavailableError):
        await breaker.call(fail)
    clock.now = 5
    gate = asyncio.Event()

    async def slow_trial() -> None:
        await gate.wait()
        raise UnavailableError("still down")

    trial = asyncio.create_task(breaker.call(slow_trial))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError):  # the trial permit is taken
        await breaker.call(succeed)
    gate.set()
    with pytest.raises(UnavailableError):
        await trial
    assert state_of(breaker) is BreakerState.OPEN
    clock.now = 9.9
    assert state_of(breaker) is BreakerState.OPEN  # the timeout restarted at the failed trial


async def test_caller_mistakes_do_not_trip_it() -> None:
    breaker = CircuitBreaker("ai", failure_threshold=1, reset_timeout=5)

    async def bad_request() -> None:
        raise InvalidArgumentError("payload: too large")

    for _ in range(3):
        with pytest.raises(InvalidArgumentError):
            await breaker.call(bad_request)
    assert state_of(breaker) is BreakerState.CLOSED


def test_board_is_bounded_and_keeps_open_breakers() -> None:
    board = BreakerBoard(failure_threshold=1, max_targets=3)
    board["open-one"].record_failure()
    for name in ("a", "b", "c", "d"):
        board[name]
    assert len(board) == 3
    assert board["open-one"].state is BreakerState.OPEN


async def test_send_trips_the_breaker_of_a_dead_target_and_recovers(connect: Connect) -> None:
    target = await connect("ai-agents", instance_id="ai-1")
    inbox = Inbox()

    @inbox.command("analyze")
    async def analyze(message: Message) -> dict[str, int]:
        return {"score": len(message.json()["name"])}

    port = await target.serve_inbox(inbox)
    await target.register(inbox=inbox, **FAST_BEATS)
    caller = await connect("crm", failure_threshold=3, reset_timeout=0.3)
    breaker = caller.breakers["ai-agents"]

    reply = await caller.send("ai-agents", "analyze", {"name": "Ada"})
    assert reply.json() == {"score": 3}

    await inbox.stop(grace=0)  # the instance still beats, but nothing answers its inbox
    for _ in range(3):
        with pytest.raises(UnavailableError):
            await caller.send("ai-agents", "analyze", {"name": "Ada"})
    assert state_of(breaker) is BreakerState.OPEN
    started = time.perf_counter()
    with pytest.raises(CircuitOpenError):
        await caller.send("ai-agents", "analyze", {"name": "Ada"})
    assert time.perf_counter() - started < 0.01  # refused locally, nothing sent

    await asyncio.sleep(0.3)
    assert state_of(breaker) is BreakerState.HALF_OPEN
    await target.serve_inbox(inbox, port=port)  # the same instance answers again
    trials = 0
    async with asyncio.timeout(10):
        while True:
            assert state_of(breaker) is BreakerState.HALF_OPEN  # every attempt below is a trial
            trials += 1
            try:
                reply = await caller.send("ai-agents", "analyze", {"name": "Grace"})
                break
            except UnavailableError:  # the registry's own reconnect to the inbox is still backing off
                assert state_of(breaker) is BreakerState.OPEN
                await asyncio.sleep(0.3)
    assert reply.json() == {"score": 5}
    assert state_of(breaker) is BreakerState.CLOSED
    assert trials >= 1
