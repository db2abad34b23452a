"""Routing commands and queries to one serving instance of the target service.

`Relay.send` resolves the target in the catalog (memory only), picks an instance, signs a
delivery token and hands the envelope to a `Forwarder` (the gRPC side, `registry.api.inbox_client`)
with the time left of the caller's deadline. Nothing here touches the network or the disk, so the
registry's own share of a Send is a dictionary look-up, a pick and a signature.

Retry: a QUERY, or a COMMAND with an idempotency key, that finds its first instance unavailable is
tried once more on another instance, inside the same deadline. A COMMAND without a key is not
retried: the first instance may have acted before it failed, and only the key lets the target
tell a repeat from a new command.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from registry.core.errors import (
    NotFound,
    Reason,
    RegistryError,
    TargetError,
    Unavailable,
)
from registry.core.graph_traffic import Traffic
from registry.core.messages import Envelope, MessageType, Reply
from registry.core.model import SERVING_STATUSES, Change, ChangeType, EndpointProtocol, Instance, InstanceKey
from registry.core.ports import DeliveryTokenSigner, Forwarder, Target

log = logging.getLogger(__name__)

CODE_CANCELLED = 1
CODE_UNKNOWN = 2
CODE_DEADLINE_EXCEEDED = 4
CODE_NOT_FOUND = 5
CODE_UNAVAILABLE = 14
_CODES: dict[type[RegistryError], int] = {NotFound: CODE_NOT_FOUND, Unavailable: CODE_UNAVAILABLE}
"""Status codes of the relay's own refusals, as the graph counts them."""
INBOX_ENDPOINT_NAME = "inbox"
"""Among several GRPC endpoints of an instance, the one with this name serves InboxService."""


class Balancing(enum.IntEnum):
    """How to choose among serving instances (proto `LoadBalancing`)."""

    ROUND_ROBIN = 1
    LEAST_LOADED = 2


@dataclass(frozen=True, slots=True)
class Delivered:
    reply: Reply
    instance_id: str
    attempts: int


class InstanceSource(Protocol):
    def instances_of(self, service_name: str) -> Mapping[str, Instance]: ...


class LoadFigures(Protocol):
    """What an instance last reported about how busy it is (from its heartbeats)."""

    @property
    def in_flight(self) -> int: ...

    @property
    def cpu(self) -> float: ...


LoadSource = Callable[[InstanceKey], LoadFigures | None]


def _no_load(_: InstanceKey) -> None:
    return None


def inbox_target(instance: Instance) -> Target | None:
    """Where the instance serves InboxService: its GRPC endpoint (the one named `inbox` when it
    has several), or None when it has no plain-gRPC endpoint."""
    found = None
    for endpoint in instance.registration.endpoints:
        if endpoint.protocol is EndpointProtocol.GRPC:
            if endpoint.name == INBOX_ENDPOINT_NAME:
                return Target(instance.key, endpoint.host, endpoint.port)
            found = found or Target(instance.key, endpoint.host, endpoint.port)
    return found


def retryable(envelope: Envelope) -> bool:
    return envelope.type is MessageType.QUERY or bool(envelope.idempotency_key)


class Relay:
    """See the module docstring. Register `on_change` as a catalog listener."""

    def __init__(
        self,
        catalog: InstanceSource,
        forwarder: Forwarder,
        signer: DeliveryTokenSigner,
        *,
        default_timeout: float,
        load_of: LoadSource = _no_load,
        clock: Callable[[], float] = time.monotonic,
        traffic: Traffic | None = None,
    ) -> None:
        self._catalog = catalog
        self._forwarder = forwarder
        self._signer = signer
        self._default_timeout = default_timeout
        self._load_of = load_of
        self._clock = clock
        self._cursors: dict[str, int] = {}
        """Round-robin position per target service; dropped when the service's last instance leaves."""
        self._in_flight: dict[InstanceKey, int] = {}
        """Deliveries the registry has open to each instance, fresher than any heartbeat."""
        self._traffic = traffic
        """Where each Send is counted as an observed edge of the dependency graph."""

    async def send(self, envelope: Envelope, balancing: Balancing, time_left: float | None) -> Delivered:
        """Deliver an accepted COMMAND or QUERY; `time_left` is what is left of the caller's
        deadline (None: no deadline, so the default). Counted on its graph edge when it ends."""
        if self._traffic is None:
            return await self._send(envelope, balancing, time_left)
        started = self._clock()
        code = CODE_UNKNOWN
        try:
            delivered = await self._send(envelope, balancing, time_left)
            code = 0
        except TargetError as error:
            code = error.code
            raise
        except RegistryError as error:
            code = _CODES.get(type(error), CODE_UNKNOWN)
            raise
        except asyncio.CancelledError:  # the caller went away
            code = CODE_CANCELLED
            raise
        finally:
            self._traffic.record(
                envelope.source_service, envelope.target_service, envelope.type, code, self._clock() - started
            )
        return delivered

    async def _send(self, envelope: Envelope, balancing: Balancing, time_left: float | None) -> Delivered:
        deadline = self._clock() + (self._default_timeout if time_left is None else time_left)
        service = envelope.target_service
        cursor = self._cursors.get(service, 0)
        self._cursors[service] = cursor + 1
        first = self._pick(self._candidates(service), balancing, cursor)
        token = self._signer.sign(source=envelope.source_service, target=service, envelope_id=envelope.id)
        try:
            reply = await self._attempt(first, envelope, token, deadline)
        except TargetError as error:
            second = self._retry_target(first, envelope, error, balancing, cursor)
            log.warning(
                "instance unavailable; retrying on another",
                extra={
                    "envelope_id": envelope.id,
                    "target": service,
                    "failed": first.key[1],
                    "retry": second.key[1],
                },
            )
            return self._delivered(
                envelope, second, 2, await self._attempt(second, envelope, token, deadline)
            )
        return self._delivered(envelope, first, 1, reply)

    @staticmethod
    def _delivered(envelope: Envelope, target: Target, attempts: int, reply: Reply) -> Delivered:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "relayed",
                extra={"envelope_id": envelope.id, "target": target.key[0], "instance": target.key[1]},
            )
        return Delivered(reply, target.key[1], attempts)

    def _retry_target(
        self, failed: Target, envelope: Envelope, error: TargetError, balancing: Balancing, cursor: int
    ) -> Target:
        """Another serving instance to retry on, or the reason there is none (raised)."""
        service = envelope.target_service
        if error.code != CODE_UNAVAILABLE:
            raise error
        if not retryable(envelope):
            raise TargetError(
                CODE_UNAVAILABLE,
                f"instance {failed.key[1]!r} of service {service!r} is unavailable ({error.message}); not "
                "retried, because a COMMAND is retried on another instance only with an idempotency_key",
            ) from error
        others = [t for t in self._candidates(service, required=False) if t.key != failed.key]
        if not others:
            raise Unavailable(
                f"instance {failed.key[1]!r} of service {service!r} is unavailable ({error.message}) "
                "and no other instance is serving",
                reason=Reason.NO_HEALTHY_INSTANCE,
                metadata={"service": service, "instance": failed.key[1]},
            ) from error
        return self._pick(others, balancing, cursor)

    def on_change(self, change: Change) -> None:
        """Catalog listener: forget what is held for an instance that left. (One that moved is
        handled by the forwarder, which replaces a channel whose address changed.)"""
        if change.type is ChangeType.REMOVED:
            key = change.instance.key
            self._forwarder.forget(key)
            self._in_flight.pop(key, None)
            if not self._catalog.instances_of(key[0]):
                self._cursors.pop(key[0], None)

    def _candidates(self, service: str, *, required: bool = True) -> list[Target]:
        instances = self._catalog.instances_of(service)
        if not instances and required:
            raise NotFound(
                f"no instance of service {service!r} is registered",
                reason=Reason.SERVICE_NOT_FOUND,
                metadata={"service": service},
            )
        targets = []
        for instance in instances.values():
            if instance.status in SERVING_STATUSES:
                target = inbox_target(instance)
                if target is not None:
                    targets.append(target)
        if not targets and required:
            raise Unavailable(
                f"service {service!r} has {len(instances)} registered instance(s) but none is serving "
                "with a GRPC endpoint",
                reason=Reason.NO_HEALTHY_INSTANCE,
                metadata={"service": service},
            )
        return targets

    def _pick(self, targets: Sequence[Target], balancing: Balancing, cursor: int) -> Target:
        """The target at the round-robin `cursor`, or for LEAST_LOADED the least loaded one,
        scanning from the cursor so that ties rotate."""
        start = cursor % len(targets)
        if balancing is Balancing.ROUND_ROBIN or len(targets) == 1:
            return targets[start]
        best, best_score = targets[start], self._score(targets[start].key)
        for offset in range(1, len(targets)):
            target = targets[(start + offset) % len(targets)]
            score = self._score(target.key)
            if score < best_score:
                best, best_score = target, score
        return best

    def _score(self, key: InstanceKey) -> tuple[float, float]:
        load = self._load_of(key)
        ours = self._in_flight.get(key, 0)
        if load is None:
            return (ours, 0.0)
        return (load.in_flight + ours, load.cpu)

    async def _attempt(self, target: Target, envelope: Envelope, token: str, deadline: float) -> Reply:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise TargetError(CODE_DEADLINE_EXCEEDED, "the deadline expired before the message was delivered")
        key = target.key
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            return await self._forwarder.deliver(target, envelope, token, remaining)
        finally:
            left = self._in_flight.get(key, 1) - 1
            if left > 0:
                self._in_flight[key] = left
            else:
                self._in_flight.pop(key, None)
