"""Who decides an instance's status: the port between liveness and cluster ownership.

In single-node mode the one process decides every status. In cluster mode several
replicas hold heartbeat streams, and exactly one may decide each instance at a time:

- the replica holding the instance's stream owns it (it claimed it when the stream bound);
- an instance nobody owns (its owner died, or no stream ever bound) is judged by one elected
  replica, which starts counting its silence when it became ownerless;
- a replica that lost its lease in the cluster store (cut off, paused) owns nothing and judges
  nothing from that moment, ends its heartbeat streams so their clients move, and refuses writes.

The implementation lives with the store (registry/store/etcd_ownership.py); liveness only calls
this port and receives `OwnershipEvents`.
"""

from __future__ import annotations

from typing import Protocol

from registry.core.errors import Reason, Unavailable
from registry.core.model import InstanceKey


def fenced_error() -> Unavailable:
    return Unavailable(
        "this registry replica lost its lease in the cluster store; use another replica",
        reason=Reason.REPLICA_FENCED,
    )


class OwnershipEvents(Protocol):
    """What ownership tells liveness, synchronously, on the event loop."""

    def lost(self, key: InstanceKey) -> None:
        """Another replica took the instance over: end this replica's stream for it."""

    def orphaned(self, key: InstanceKey) -> None:
        """This replica now judges the ownerless instance: count its silence from now."""

    def became_judge(self) -> None:
        """This replica was elected to judge ownerless instances: adopt every one of them."""

    def fenced(self) -> None:
        """This replica lost its lease: end every stream (UNAVAILABLE) so its clients move."""


class Ownership(Protocol):
    def attach(self, events: OwnershipEvents) -> None: ...

    def claim(self, key: InstanceKey) -> None:
        """A stream bound the instance here: own it from now (the store write follows)."""

    def release(self, key: InstanceKey) -> None:
        """The instance was removed: drop this replica's claim."""

    def may_judge(self, key: InstanceKey) -> bool:
        """Whether this replica may change the instance's status now."""
        ...

    def owned(self, key: InstanceKey) -> bool:
        """Whether any replica owns the instance."""
        ...

    @property
    def fenced(self) -> bool:
        """This replica lost its lease and may not write."""
        ...
