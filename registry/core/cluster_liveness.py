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
import time

from registry.core.liveness import CatalogView as LivenessCatalog
from registry.core.liveness import Lease, Liveness, LivenessSettings, StreamSink, _Record, _taken_over
from registry.core.model import Change, ChangeType, InstanceKey
from registry.core.ownership import Ownership, fenced_error

log = logging.getLogger(__name__)


class ClusterLiveness(Liveness):
    """See the module docstring."""

    def __init__(self, catalog: LivenessCatalog, settings: LivenessSettings, ownership: Ownership) -> None:
        super().__init__(catalog, settings)
        self._ownership = ownership
        ownership.attach(self)

    # ----------------------------------------------------------------- streams

    def bind(self, key: InstanceKey, sink: StreamSink, *, take_over: bool = False) -> Lease:
        if self._ownership.fenced:
            raise fenced_error()
        lease = super().bind(key, sink, take_over=take_over)  # NotFound etc. before any claim
        self._ownership.claim(key)
        record = self._records[key]
        self._adopt_stored_status(record)
        self._evaluate(record, time.monotonic())
        return lease

    def _adopt_stored_status(self, record: _Record) -> None:
        """Start owning from the status the cluster holds (the previous owner may have written
        one this replica did not mirror), so the first beat writes HEALTHY if it is not."""
        stored = self._catalog.instances_of(record.key[0]).get(record.key[1])
        if stored is not None and stored.status is not record.status:
            record.status = stored.status
            record.status_since = time.monotonic()

    # ----------------------------------------------------------------- OwnershipEvents

    def lost(self, key: InstanceKey) -> None:
        record = self._records.get(key)
        if record is None or record.lease is None:
            return
        lease, record.lease = record.lease, None
        lease.sink.end(_taken_over())

    def orphaned(self, key: InstanceKey) -> None:
        instance = self._catalog.instances_of(key[0]).get(key[1])
        record = self._records.get(key)
        if instance is None or record is None or record.lease is not None:
            return
        log.info("judging an instance whose owner is gone", extra={"service": key[0], "instance": key[1]})
        self._track(instance, time.monotonic())  # a fresh record: silence counts from now

    def became_judge(self) -> None:
        for key in [k for k in self._records if not self._ownership.owned(k)]:
            self.orphaned(key)

    def fenced(self) -> None:
        error = fenced_error()
        for record in self._records.values():
            lease, record.lease = record.lease, None
            if lease is not None:
                lease.sink.end(error)

    # ----------------------------------------------------------------- the status machine

    def _evaluate(self, record: _Record, now: float) -> None:
        if self._ownership.may_judge(record.key):
            super()._evaluate(record, now)

    def _on_change(self, change: Change) -> None:
        super()._on_change(change)
        key = change.instance.key
        if change.type is ChangeType.REMOVED:
            self._ownership.release(key)
        elif change.type is ChangeType.STATUS_CHANGED:
            record = self._records.get(key)
            if record is None or record.status is change.instance.status:
                return
            if self._ownership.may_judge(key):
                # A write of the previous owner landed after this replica took over: ours wins
                # (etcd refuses it if we are not the owner any more).
                self._catalog.set_status(key, record.status)
            else:
                record.status = change.instance.status  # the owner's decision, mirrored
                record.status_since = time.monotonic()

    async def _reap(self, key: InstanceKey) -> None:
        if self._ownership.may_judge(key):
            await super()._reap(key)
