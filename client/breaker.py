"""A circuit breaker per target service: closed -> open -> half-open -> closed.

The shape of 004's `CircuitBreaker`, made exact: after `failure_threshold` failures in a row the
circuit opens and calls fail at once with `CircuitOpenError` (no request leaves the process, so a
dying service is not buried under retries). After `reset_timeout` it goes half-open and lets
`half_open_max_calls` trial calls through: a success closes it, a failure opens it again for
another `reset_timeout`.

Only failures that say something about the target's health count (UNAVAILABLE, DEADLINE_EXCEEDED,
RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, no instance to call). A caller's own mistake such as
INVALID_ARGUMENT or PERMISSION_DENIED proves the target answered, so it counts as a success.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from client.errors import CircuitOpenError, NoInstanceError, RegistryClientError

log = logging.getLogger(__name__)

T = TypeVar("T")

_FAILURE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def counts_as_failure(error: BaseException) -> bool:
    """Whether `error` says the target is unhealthy (rather than that the caller erred)."""
    if isinstance(error, NoInstanceError):
        return True
    if isinstance(error, RegistryClientError):
        return error.code in _FAILURE_CODES
    return not isinstance(error, CircuitOpenError)


class CircuitBreaker:
    """The breaker of one target. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        target: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold and half_open_max_calls >= 1, reset_timeout > 0")
        self.target = target
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0

    @property
    def state(self) -> BreakerState:
        """The current state; an open circuit whose timeout has passed reads as half-open."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._move(BreakerState.HALF_OPEN)
            self._trials = 0
        return self._state

    def acquire(self) -> None:
        """Permission for one call; raises `CircuitOpenError` when the circuit refuses it."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and self._trials < self.half_open_max_calls:
            self._trials += 1
            return
        remaining = self.reset_timeout - (self._clock() - self._opened_at)
        raise CircuitOpenError(self.target, max(0.0, remaining))

    def record_success(self) -> None:
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._move(BreakerState.OPEN)

    def release(self) -> None:
        """Give back a half-open trial permit whose call ended without a verdict (cancelled)."""
        if self._state is BreakerState.HALF_OPEN and self._trials > 0:
            self._trials -= 1

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn()` through the breaker, recording its outcome."""
        self.acquire()
        try:
            result = await fn()
        except BaseException as error:
            if isinstance(error, Exception) and counts_as_failure(error):
                self.record_failure()
            elif isinstance(error, Exception):
                self.record_success()
            else:
                self.release()
            raise
        self.record_success()
        return result

    def _move(self, state: BreakerState) -> None:
        log.info("circuit %s: %s -> %s", self.target, self._state.value, state.value)
        self._state = state


class BreakerBoard:
    """One breaker per target, at most `max_targets` of them.

    When full, the least recently used closed breaker is forgotten (a closed breaker with its
    failure count lost is harmless); open ones are kept so a flood of new targets cannot reset them.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        max_targets: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = (failure_threshold, reset_timeout, half_open_max_calls)
        self.reset_timeout = reset_timeout
        self._max = max_targets
        self._clock = clock
        self._breakers: OrderedDict[str, CircuitBreaker] = OrderedDict()

    def __getitem__(self, target: str) -> CircuitBreaker:
        breaker = self._breakers.get(target)
        if breaker is not None:
            self._breakers.move_to_end(target)
            return breaker
        if len(self._breakers) >= self._max:
            self._evict_one()
        threshold, timeout, trials = self._settings
        breaker = CircuitBreaker(
            target,
            failure_threshold=threshold,
            reset_timeout=timeout,
            half_open_max_calls=trials,
            clock=self._clock,
        )
        self._breakers[target] = breaker
        return breaker

    def __len__(self) -> int:
        return len(self._breakers)

    def _evict_one(self) -> None:
        for name, breaker in self._breakers.items():
            if breaker.state is BreakerState.CLOSED:
                del self._breakers[name]
                return
        self._breakers.popitem(last=False)
