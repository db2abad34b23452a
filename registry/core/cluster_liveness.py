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

from registry.core.liveness import Binding, Liveness, LivenessSettings, StreamSink
from registry.core.liveness.binding import taken_over
from registry.core.liveness.record import InstanceState
from registry.core.liveness.values import CatalogView as LivenessCatalog
from registry.core.model import Change, ChangeType, InstanceKey
from registry.core.ownership import Ownership, fenced_error
from registry.core.ports import Clock

log = logging.getLogger(__name__)


class ClusterLiveness(Liveness):
    """See the module docstring."""

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
        self._ownership = ownership
        ownership.attach(self)

    # ----------------------------------------------------------------- streams

    def bind(self, key: InstanceKey, sink: StreamSink, *, take_over: bool = False) -> Binding:
        if self._ownership.fenced:
            raise fenced_error()
        binding = super().bind(key, sink, take_over=take_over)  # NotFound etc. before any claim
        self._ownership.claim(key)
        state = self._states[key]
        self._adopt_stored_status(state)
        self._evaluate(state, self.now())
        return binding

    def _adopt_stored_status(self, state: InstanceState) -> None:
        """Start owning from the status the cluster holds (the previous owner may have written
        one this replica did not mirror), so the first beat writes HEALTHY if it is not."""
        stored = self._catalog.instances_of(state.key[0]).get(state.key[1])
        if stored is not None and stored.status is not state.status:
            state.status = stored.status
            state.status_since = self.now()

    # ----------------------------------------------------------------- OwnershipEvents

    def lost(self, key: InstanceKey) -> None:
        state = self._states.get(key)
        if state is None or state.binding is None:
            return
        binding, state.binding = state.binding, None
        binding.sink.end(taken_over())

    def orphaned(self, key: InstanceKey) -> None:
        instance = self._catalog.instances_of(key[0]).get(key[1])
        state = self._states.get(key)
        if instance is None or state is None or state.binding is not None:
            return
        log.info("judging an instance whose owner is gone", extra={"service": key[0], "instance": key[1]})
        self._track(instance, self.now())  # a fresh state: silence counts from now

    def became_judge(self) -> None:
        for key in [k for k in self._states if not self._ownership.owned(k)]:
            self.orphaned(key)

    def fenced(self) -> None:
        error = fenced_error()
        for state in self._states.values():
            binding, state.binding = state.binding, None
            if binding is not None:
                binding.sink.end(error)

    # ----------------------------------------------------------------- the status machine

    def _evaluate(self, state: InstanceState, now: float) -> None:
        if self._ownership.may_judge(state.key):
            super()._evaluate(state, now)

    def _on_change(self, change: Change) -> None:
        super()._on_change(change)
        key = change.instance.key
        if change.type is ChangeType.REMOVED:
            self._ownership.release(key)
        elif change.type is ChangeType.STATUS_CHANGED:
            state = self._states.get(key)
            if state is None or state.status is change.instance.status:
                return
            if self._ownership.may_judge(key):
                # A write of the previous owner landed after this replica took over: ours wins
                # (etcd refuses it if we are not the owner any more).
                self._catalog.set_status(key, state.status)
            else:
                state.status = change.instance.status  # the owner's decision, mirrored
                state.status_since = self.now()

    async def _reap(self, key: InstanceKey) -> None:
        if self._ownership.may_judge(key):
            await super()._reap(key)
