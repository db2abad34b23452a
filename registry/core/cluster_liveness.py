"""Liveness in cluster mode: the same status machine, deciding only what this replica may decide.

Every replica tracks every instance (the catalog feeds it all of them), but it runs the status
machine only for instances the `Ownership` port lets it judge: those whose stream it holds, and,
on the one elected replica, those nobody holds. For the others it mirrors the status the owner
wrote, so its health reads and its self-preservation population stay true. So:

- a bind claims the instance for this replica (a bind on another replica takes it over: only
  within one replica can a second stream be refused with INSTANCE_ALREADY_BOUND);
- when another replica takes an instance over, this replica ends its stream (STREAM_TAKEN_OVER);
- when an instance loses its owner, the judge starts its silence from that moment: the instance's
  clients have its whole heartbeat timeout to rebind anywhere before it is marked dead, and
  self-preservation applies over the whole cluster, since the judge sees every instance;
- a fenced replica (lease lost) ends every stream with UNAVAILABLE (REPLICA_FENCED) and refuses
  new binds, so clients move to a replica that can still write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from registry.core.liveness import Liveness, LivenessSettings
from registry.core.liveness.binding import taken_over
from registry.core.liveness.record import InstanceState
from registry.core.liveness.values import CatalogView as LivenessCatalog
from registry.core.model import Change, ChangeType, Instance, InstanceKey
from registry.core.ownership import Ownership, fenced_error
from registry.core.ports import Clock

log = logging.getLogger(__name__)


class ClusterLiveness(Liveness):
    """See the module docstring. Extends the engine through its documented extension points
    (`check_bind`, `claimed`, `may_judge`, `catalog_changed`) and public methods only."""

    def __init__(
        self,
        catalog: LivenessCatalog,
        settings: LivenessSettings,
        clock: Clock,
        ownership: Ownership,
        *,
        real_clock: Clock | None = None,
        on_beat_read: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(catalog, settings, clock, real_clock=real_clock, on_beat_read=on_beat_read)
        self._cluster_catalog = catalog
        self._ownership = ownership
        ownership.attach(self)

    # ----------------------------------------------------------------- extension points

    def check_bind(self, key: InstanceKey) -> None:
        if self._ownership.fenced:
            raise fenced_error()

    def claimed(self, state: InstanceState) -> None:
        """Own the instance, starting from the status the cluster holds (the previous owner may
        have written one this replica did not mirror), so the first beat writes HEALTHY if it is
        not."""
        self._ownership.claim(state.key)
        stored = self._stored(state.key)
        if stored is not None and stored.status is not state.status:
            state.status = stored.status
            state.status_since = self.now()

    def may_judge(self, key: InstanceKey) -> bool:
        return self._ownership.may_judge(key)

    def catalog_changed(self, change: Change) -> None:
        key = change.instance.key
        if change.type is ChangeType.REMOVED:
            self._ownership.release(key)
        elif change.type is ChangeType.STATUS_CHANGED:
            state = self.state_of(key)
            if state is None or state.status is change.instance.status:
                return
            if self._ownership.may_judge(key):
                # A write of the previous owner landed after this replica took over: ours wins
                # (etcd refuses it if we are not the owner any more).
                self._cluster_catalog.set_status(key, state.status)
            else:
                state.status = change.instance.status  # the owner's decision, mirrored
                state.status_since = self.now()

    def _stored(self, key: InstanceKey) -> Instance | None:
        return self._cluster_catalog.instances_of(key[0]).get(key[1])

    # ----------------------------------------------------------------- OwnershipEvents

    def lost(self, key: InstanceKey) -> None:
        state = self.state_of(key)
        if state is None or state.binding is None:
            return
        binding, state.binding = state.binding, None
        binding.sink.end(taken_over())

    def orphaned(self, key: InstanceKey) -> None:
        instance = self._stored(key)
        state = self.state_of(key)
        if instance is None or state is None or state.binding is not None:
            return
        log.info("judging an instance whose owner is gone", extra={"service": key[0], "instance": key[1]})
        self.judge_afresh(instance)  # a fresh state: silence counts from now

    def became_judge(self) -> None:
        for key in [k for k in self.keys() if not self._ownership.owned(k)]:
            self.orphaned(key)

    def fenced(self) -> None:
        error = fenced_error()
        for key in self.keys():
            state = self.state_of(key)
            if state is None:
                continue
            binding, state.binding = state.binding, None
            if binding is not None:
                binding.sink.end(error)
