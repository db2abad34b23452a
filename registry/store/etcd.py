"""The cluster-mode `ReplicatedStore`: instances as keys in etcd, followed with one etcd watch.

Key layout under the configured prefix (docs/cluster.md#key-layout):

    <prefix>/instances/<service>/<instance>   -> JSON of the instance (registration, status, times)

The key's create_revision and mod_revision are the instance's create_revision and mod_revision, so
the catalog revision is etcd's revision. Every write is a transaction guarded by what the writer
last saw, so two replicas never overwrite each other blindly:

- a registration: `mod_revision == the one the catalog holds` (0: absent), else the caller retries
  on fresher state;
- a status: `create_revision == the instance's` (the same incarnation: a late status never
  resurrects or rewrites a re-registered instance) and `mod_revision == the one it was built from`
  (a re-registration in between is re-read and kept), plus the ownership guard when one is set
  (registry/store/etcd_ownership.py): only the replica that owns an instance writes its status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from generated.etcd.etcdserverpb import rpc_pb2
from registry.core.model import Instance, InstanceKey
from registry.core.ports import StoredChange, StoredState
from registry.store import records
from registry.store.etcd_client import (
    EtcdClient,
    KeyValue,
    compare_create,
    compare_mod,
    follow,
    prefix_end,
    put_op,
    range_op,
)
from registry.store.sqlite import INSTANCE_COLUMNS, instance_from_row, instance_to_row

log = logging.getLogger(__name__)

STATUS_WRITE_ATTEMPTS = 3


class OwnerGuard(Protocol):
    """Extra conditions for a status write: only the owner (or the orphan judge) decides."""

    async def guard(self, key: InstanceKey) -> list[rpc_pb2.Compare] | None:
        """The compares that must hold to write `key`'s status; None when this replica may not."""
        ...


def encode(instance: Instance) -> bytes:
    row = instance_to_row(instance)
    del row["create_revision"], row["mod_revision"]  # etcd's own revisions are the truth
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode()


def decode(kv: KeyValue, key: InstanceKey) -> Instance:
    """The instance `key`'s value holds; `CorruptRecord` naming the fault when it holds none (or
    holds another instance)."""
    values = records.json_object(kv.value, "the value")
    values["create_revision"] = kv.create_revision
    values["mod_revision"] = kv.mod_revision
    instance = instance_from_row(tuple(records.field(values, c) for c in INSTANCE_COLUMNS))
    if instance.key != key:
        raise records.CorruptRecord(f"the value holds instance {instance.key!r}, not this key's")
    return instance


class EtcdStore:
    """`ReplicatedStore` on etcd. The client is shared with the rest of cluster mode; the caller
    closes it.

    A value under the prefix that holds no instance (written by hand, by another program) is
    skipped with a WARNING naming its key, at start and in the watch alike, so every replica's
    catalog holds the readable instances and nothing else. The value stays in etcd; the instance's
    next registration replaces it (the registration's guard expects the damaged value's revision)."""

    def __init__(self, client: EtcdClient, prefix: str, owners: OwnerGuard | None = None) -> None:
        self._client = client
        self._root = f"{prefix.rstrip('/')}/instances/".encode()
        self._owners = owners
        self._unreadable: dict[bytes, int] = {}
        """Keys whose value holds no instance -> that value's mod_revision."""

    def key(self, key: InstanceKey) -> bytes:
        return self._root + f"{key[0]}/{key[1]}".encode()

    def instance_key(self, raw: bytes) -> InstanceKey:
        # surrogateescape: a key that is not UTF-8 names an instance no one can register, and
        # never stops the watch.
        service, _, instance = raw[len(self._root) :].decode("utf-8", "surrogateescape").partition("/")
        return service, instance

    def _readable(self, kv: KeyValue) -> Instance | None:
        """The instance `kv` holds; None (logged, remembered) when it holds none."""
        try:
            instance = decode(kv, self.instance_key(kv.key))
        except records.CorruptRecord as error:
            self._unreadable[bytes(kv.key)] = int(kv.mod_revision)
            log.warning(
                "skipped an unreadable instance value in etcd; it stays there",
                extra={"key": records.shown(kv.key.decode("utf-8", "replace")), "error": str(error)},
            )
            return None
        self._unreadable.pop(bytes(kv.key), None)
        return instance

    async def open(self) -> StoredState:
        await self._client.authenticate()
        response = await self._client.range(self._root, prefix_end(self._root))
        self._unreadable.clear()
        instances = [i for kv in response.kvs if (i := self._readable(kv)) is not None]
        return StoredState(instances=instances, revision_ceiling=int(response.header.revision))

    async def put_instance(self, instance: Instance, expect_mod_revision: int) -> int | None:
        key = self.key(instance.key)
        if expect_mod_revision == 0:
            # Absent for the catalog; a damaged value may still sit on the key: replace that one.
            expect_mod_revision = self._unreadable.get(key, 0)
        response = await self._client.txn(
            [compare_mod(key, expect_mod_revision)], [put_op(key, encode(instance))]
        )
        return int(response.header.revision) if response.succeeded else None

    async def delete_instance(self, key: InstanceKey) -> int | None:
        response = await self._client.delete(self.key(key))
        return int(response.header.revision) if response.deleted else None

    async def save_statuses(self, instances: Sequence[Instance]) -> None:
        results = await asyncio.gather(*(self._save_status(i) for i in instances), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _save_status(self, instance: Instance) -> None:
        key = self.key(instance.key)
        basis = instance
        for _ in range(STATUS_WRITE_ATTEMPTS):
            extra = await self._owners.guard(instance.key) if self._owners is not None else []
            if extra is None:
                return  # another replica owns it now: its status is not ours to write
            written = Instance(
                basis.registration,
                instance.status,
                basis.create_time,
                basis.update_time,
                instance.status_time,
                basis.create_revision,
                basis.mod_revision,
            )
            response = await self._client.txn(
                [compare_create(key, instance.create_revision), compare_mod(key, basis.mod_revision), *extra],
                [put_op(key, encode(written))],
                [range_op(key)],
            )
            if response.succeeded:
                return
            kvs = response.responses[0].response_range.kvs
            if not kvs or kvs[0].create_revision != instance.create_revision:
                return  # removed, or registered anew: this status is about an instance gone
            current = self._readable(kvs[0])
            if current is None:
                return  # overwritten by something unreadable: the watch drops the instance
            if current.mod_revision == basis.mod_revision:
                return  # the ownership guard failed: not ours to write
            basis = current
        log.warning("status write kept conflicting; dropped", extra={"instance": instance.key})

    async def changes(self, after_revision: int) -> AsyncIterator[StoredChange]:
        end = prefix_end(self._root)
        async for events, revision in follow(self._client, self._root, end, after_revision, "catalog"):
            for event in events:
                kv = event.kv
                if event.type == event.DELETE:
                    self._unreadable.pop(bytes(kv.key), None)
                    instance = None
                else:
                    instance = self._readable(kv)  # None: unreadable, so gone from the catalog
                yield StoredChange(int(kv.mod_revision), self.instance_key(kv.key), instance)
            if not events:
                yield StoredChange(revision, None)

    async def close(self) -> None:
        """Nothing to release: the client belongs to the caller."""
