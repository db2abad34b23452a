"""Authenticates and authorizes every call, unary or streaming, of every method but the public ones.

Per call: read `authorization: Bearer <jwt>`, verify it, check the method's rule (policy.py), bind
the caller to the RPC (`current_identity()`), and hand over to the servicer. A refused call logs
the denial and ends with UNAUTHENTICATED (no valid token) or PERMISSION_DENIED (valid token, no
right), carrying the domain error's ErrorInfo like any other error of ours, before its request is
parsed or any servicer code runs. The check is attached to each method's handler once, when the
server adds the service (`AuthInterceptor.wrap`, a `MethodWrapper`), not as a grpc.aio interceptor.

Streams are authenticated when they open and end with UNAUTHENTICATED when the token expires: a
timer per stream (not a check per message) fires at `exp` + leeway. The way to keep a stream
beyond a token's life is to reopen it with a fresh token before then: Heartbeat binds again with
`take_over=true`, Watch resumes with `after_revision` (docs/security.md).
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NamedTuple, NoReturn, TypeVar

from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from registry.auth.identity import ANONYMOUS, Identity, set_current_call
from registry.auth.keys import ServiceKeySet
from registry.auth.policy import METHOD_RULES, Rule, method_denial
from registry.auth.verifier import Verifier
from registry.config import Config, split_list
from registry.core.errors import (
    PermissionDenied,
    Reason,
    RegistryError,
    Unauthenticated,
)
from registry.wire.handlers import Context, Handler, behavior_of, with_behavior
from registry.wire.status import abort

log = logging.getLogger(__name__)

T = TypeVar("T")

PUBLIC_GROUPS: dict[str, Any] = {
    "health": health_pb2.DESCRIPTOR.services_by_name["Health"],
    "reflection": reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
}
"""Services that `auth_public_methods` may open to callers without a token."""


def _methods_of(service: Any) -> list[str]:
    return [f"/{service.full_name}/{m.name}" for m in service.methods]


def bearer_token(metadata: Iterable[tuple[str, Any]]) -> str:
    """The bearer token of `authorization` metadata (gRPC) or header (the console's HTTP API)."""
    for key, value in metadata:
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise Unauthenticated(
                "token rejected: `authorization` must be `Bearer <token>`", reason=Reason.TOKEN_MALFORMED
            )
    raise Unauthenticated(
        "token missing: send metadata `authorization: Bearer <token>`", reason=Reason.TOKEN_MISSING
    )


class _Denial(NamedTuple):
    """Why a call is refused, and who made it ("-" when the token did not verify)."""

    error: RegistryError
    caller: str


async def _deny(context: Context, denial: _Denial, method: str) -> NoReturn:
    """Log the denial and end the call with its error."""
    error = denial.error
    log.warning(
        "auth denied",
        extra={"caller": denial.caller, "method": method, "reason": error.message, "peer": context.peer()},
    )
    await abort(context, error)
    raise AssertionError("abort raises")  # pragma: no cover


class _ExpiryGuard:
    """Ends one stream with UNAUTHENTICATED when its token expires.

    The timer cancels the RPC task only while the task is inside the servicer's code (`guarded`),
    where the CancelledError is ours to turn into the status. When the timer fires while grpc is
    writing a response, the flag is seen as soon as grpc asks for the next one.
    """

    def __init__(self, expires_at: float, caller: str, method: str) -> None:
        self.fired = False
        self._inside = False
        self._caller = caller
        self._method = method
        task = asyncio.current_task()
        assert task is not None, "a gRPC handler always runs in a task"
        self._task = task
        delay = max(0.0, expires_at - time.time())
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self.fired = True
        if self._inside:
            self._task.cancel()

    def close(self) -> None:
        self._timer.cancel()

    async def expire(self, context: Context) -> None:
        error = Unauthenticated(
            "token expired during the stream; reopen it with a fresh token", reason=Reason.TOKEN_EXPIRED
        )
        log.warning(
            "auth denied",
            extra={
                "caller": self._caller,
                "method": self._method,
                "reason": error.message,
                "peer": context.peer(),
            },
        )
        await abort(context, error)

    async def guarded(self, awaitable: Awaitable[T], context: Context) -> T:
        """Await servicer code; if the token expires meanwhile, end the call with UNAUTHENTICATED."""
        self._inside = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            if not self.fired:
                raise
            self._task.uncancel()
            await self.expire(context)
            raise  # not reached: expire() aborts
        finally:
            self._inside = False


class AuthInterceptor:
    """Authenticates every call except the public groups, and enforces METHOD_RULES.

    Not a grpc.aio interceptor (those run for every call, as coroutines, before the handler is
    known): `wrap` is a `MethodWrapper` that wraps each method's behavior once, when the server
    adds its service, so the check runs at the start of each call of that method, before its
    request is parsed (see `registry.wire.decode_guard`) or any servicer code runs.
    """

    def __init__(self, verifier: Verifier, public_groups: Iterable[str] = ("health", "reflection")) -> None:
        self.verifier = verifier
        public = set(public_groups)
        self._public = frozenset(m for g in public for m in _methods_of(PUBLIC_GROUPS[g]))
        closed = {
            m: Rule.AUTHENTICATED
            for g in PUBLIC_GROUPS.keys() - public
            for m in _methods_of(PUBLIC_GROUPS[g])
        }
        self._rules: dict[str, Rule] = {**METHOD_RULES, **closed}
        self.refusals: collections.Counter[str] = collections.Counter()
        """Calls refused here, by ErrorInfo reason (read by the metrics at scrape time)."""

    def admit(self, context: Context, method: str, rule: Rule | None) -> Identity | _Denial:
        """The caller's identity, now bound to the call, or why it is refused (counted)."""
        try:
            identity = self.verifier.verify(bearer_token(context.invocation_metadata() or ()))
        except Unauthenticated as error:
            self.refusals[error.reason] += 1
            return _Denial(error, "-")
        denial = method_denial(identity, rule)
        if denial is not None:
            refused = PermissionDenied(denial)
            self.refusals[refused.reason] += 1
            return _Denial(refused, identity.service)
        set_current_call(identity, method)
        return identity

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler` with the caller checked at the start of every call (a `MethodWrapper`)."""
        behavior = behavior_of(handler)
        if method in self._public:
            return with_behavior(handler, _as_caller(behavior, ANONYMOUS, method))
        rule = self._rules.get(method)
        if handler.request_streaming or handler.response_streaming:
            return with_behavior(handler, self._streaming(behavior, method, rule))
        admit = self.admit

        async def call(request: Any, context: Context) -> Any:
            admitted = admit(context, method, rule)
            if isinstance(admitted, _Denial):
                await _deny(context, admitted, method)
            return await behavior(request, context)

        return with_behavior(handler, call)

    def _streaming(self, behavior: Callable[..., Any], method: str, rule: Rule | None) -> Callable[..., Any]:
        """A stream's behavior: checked when it opens, ended by `_ExpiryGuard` when the token expires."""
        admit, leeway = self.admit, self.verifier.leeway

        if inspect.isasyncgenfunction(behavior):

            async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
                admitted = admit(context, method, rule)
                if isinstance(admitted, _Denial):
                    await _deny(context, admitted, method)
                guard = _ExpiryGuard(admitted.expires_at + leeway, admitted.service, method)
                responses = behavior(request, context)
                try:
                    while True:
                        try:
                            response = await guard.guarded(anext(responses), context)
                        except StopAsyncIteration:
                            return
                        yield response
                        if guard.fired:
                            await guard.expire(context)
                finally:
                    guard.close()
                    await responses.aclose()

            return stream

        async def call(request: Any, context: Context) -> Any:
            admitted = admit(context, method, rule)
            if isinstance(admitted, _Denial):
                await _deny(context, admitted, method)
            guard = _ExpiryGuard(admitted.expires_at + leeway, admitted.service, method)
            try:
                return await guard.guarded(behavior(request, context), context)
            finally:
                guard.close()

        return call


def _as_caller(behavior: Callable[..., Any], identity: Identity, method: str) -> Callable[..., Any]:
    """`behavior` run as `identity` (a public method: no token asked for)."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            set_current_call(identity, method)
            async for response in behavior(request, context):
                yield response

        return stream

    async def call(request: Any, context: Context) -> Any:
        set_current_call(identity, method)
        return await behavior(request, context)

    return call


def build_interceptor(config: Config, service_keys: ServiceKeySet | None = None) -> AuthInterceptor | None:
    """The interceptor for `config`, or None when auth is off (said loudly in the log).

    With auth on this loads the keys, creating the data-dir secret on first start, and logs how
    to mint a token for this registry.
    """
    if config.auth_mode == "off":
        if config.binds_loopback:
            log.warning("auth is OFF: every local caller may act as any service")
        else:
            log.critical(
                "AUTH IS OFF ON A NON-LOOPBACK ADDRESS (--insecure): anyone who can reach this port "
                "may register, deregister and heartbeat as any service",
                extra={"host": config.host},
            )
        return None
    verifier = Verifier.from_config(config, create_secret=True, service_keys=service_keys)
    mint = "registry token create --service NAME --scope discover --ttl 1h"
    if verifier.keys.hs_secret is None:
        mint += " --private-key KEY.pem --kid KID"
    elif not (config.jwt_secret or config.jwt_secret_file):
        mint += f" --db-path {config.db_path}"
    log.info(
        "auth is on (JWT)",
        extra={"keys": verifier.keys.describe(), "audience": config.jwt_audience, "mint_a_token": mint},
    )
    return AuthInterceptor(verifier, split_list(config.auth_public_methods))
