"""Ownership in etcd: one lease per replica, owner keys on it, and one elected orphan judge.

    <prefix>/replicas/<replica>              -> address        (on the replica's lease)
    <prefix>/owners/<service>/<instance>     -> replica         (on the owner's lease)
    <prefix>/judge                           -> replica         (on the judge's lease)

- The lease is renewed every TTL/3. The replica counts its lease as valid until the last renewal
  etcd confirmed plus the TTL etcd gave back, on its own monotonic clock; past that it is *fenced*
  at once, even before it can talk to etcd again (a SIGSTOPped replica resumes fenced): it owns
  nothing, judges nothing, ends its streams, refuses writes. When etcd answers again it takes a
  new lease and rejoins with no instances; its clients have moved meanwhile.
- A status write carries a guard (`guard`): "the owner key still carries my lease", or for the
  judge "there is no owner key and the judge key carries my lease". etcd refuses a stale write
  even when the replica does not know yet that it lost ownership.
- A replica's death expires its lease, which deletes its owner keys and its judge key together.
  The judge sees the owner keys vanish (its watch on owners/) and adopts those instances; when the
  judge dies, the next replica to win the compare-and-swap on the judge key adopts every
  instance without an owner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from generated.etcd.etcdserverpb import rpc_pb2
from registry.core.model import InstanceKey
from registry.core.ownership import OwnershipEvents
from registry.store.etcd_client import (
    EtcdClient,
    EtcdUnavailable,
    compare_create,
    compare_lease,
    delete_op,
    follow,
    prefix_end,
    put_op,
)

log = logging.getLogger(__name__)

JUDGE_CHECK_EVERY = 1.0
"""Seconds between attempts to become the judge (and checks that this replica still is)."""


class EtcdOwnership:
    """`Ownership` for cluster mode; also the `OwnerGuard` of the etcd store."""

    def __init__(
        self,
        client: EtcdClient,
        prefix: str,
        replica_id: str,
        *,
        ttl: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        root = prefix.rstrip("/")
        self._owners_root = f"{root}/owners/".encode()
        self._replica_key = f"{root}/replicas/{replica_id}".encode()
        self._judge_key = f"{root}/judge".encode()
        self.replica_id = replica_id
        self._me = replica_id.encode()
        self._ttl = ttl
        self._clock = clock
        self.address = ""
        self._events: OwnershipEvents | None = None
        self._lease = 0
        self._valid_until = 0.0
        self._owners: dict[InstanceKey, bytes] = {}
        self._mine: set[InstanceKey] = set()
        self._claimed_at: dict[InstanceKey, int] = {}
        """The revision of this replica's owner key for an instance (0 while the put is pending):
        owner events older than it are history, not a take-over."""
        self._contested: dict[InstanceKey, int] = {}
        self._claims: dict[InstanceKey, asyncio.Task[None]] = {}
        self._judge = False
        self._was_fenced = False
        self._tasks: list[asyncio.Task[None]] = []

    # ----------------------------------------------------------------- life cycle

    async def start(self, address: str) -> None:
        self.address = address
        await self._client.authenticate()
        await self._take_lease()
        response = await self._client.range(self._owners_root, prefix_end(self._owners_root))
        self._owners = {self._key(kv.key): bytes(kv.value) for kv in response.kvs}
        revision = int(response.header.revision)
        self._tasks = [
            asyncio.create_task(self._keep_alive(), name="etcd-lease"),
            asyncio.create_task(self._follow_owners(revision), name="etcd-owners"),
            asyncio.create_task(self._campaign(), name="etcd-judge"),
        ]

    async def close(self) -> None:
        """Stop, and give the lease back: this replica's instances go to the judge at once."""
        for task in [*self._tasks, *self._claims.values()]:
            task.cancel()
        for task in [*self._tasks, *self._claims.values()]:
            with suppress(asyncio.CancelledError, Exception):
                await task
        if self._lease:
            with suppress(EtcdUnavailable):
                await self._client.revoke(self._lease)

    async def _take_lease(self) -> None:
        sent = self._clock()
        self._lease = await self._client.grant(self._ttl)
        self._valid_until = sent + self._ttl
        await self._client.put(self._replica_key, self.address.encode(), lease=self._lease)
        log.info(
            "replica joined the cluster", extra={"replica": self.replica_id, "lease": f"{self._lease:x}"}
        )

    # ----------------------------------------------------------------- the port

    def attach(self, events: OwnershipEvents) -> None:
        self._events = events

    @property
    def lease(self) -> int:
        """The replica's current lease (0 before it joined); keys that must die with it go on it."""
        return self._lease

    @property
    def fenced(self) -> bool:
        return self._clock() >= self._valid_until

    def may_judge(self, key: InstanceKey) -> bool:
        if self.fenced:
            return False
        return key in self._mine or (self._judge and key not in self._owners)

    def owned(self, key: InstanceKey) -> bool:
        return key in self._owners

    def claim(self, key: InstanceKey) -> None:
        self._mine.add(key)
        self._owners[key] = self._me
        self._claimed_at[key] = 0
        self._contested.pop(key, None)
        previous = self._claims.get(key)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._write_claim(key))
        self._claims[key] = task
        task.add_done_callback(
            lambda done: self._claims.pop(key, None) if self._claims.get(key) is done else None
        )

    async def _write_claim(self, key: InstanceKey) -> None:
        for attempt in range(5):
            lease = self._lease
            try:
                revision = await self._client.put(self._owner_key(key), self._me, lease=lease)
            except EtcdUnavailable as error:
                if attempt == 4 or self.fenced:
                    log.warning("could not record ownership", extra={"instance": key, "error": str(error)})
                    return
                await asyncio.sleep(0.1 * (attempt + 1))
            else:
                self._claim_written(key, revision)
                return

    def _claim_written(self, key: InstanceKey, revision: int) -> None:
        if key not in self._mine:
            return
        self._claimed_at[key] = revision
        if self._contested.pop(key, 0) > revision:  # another replica claimed it after us
            self._lose(key)

    def _lose(self, key: InstanceKey) -> None:
        self._mine.discard(key)
        self._claimed_at.pop(key, None)
        if self._events is not None:
            self._events.lost(key)

    def release(self, key: InstanceKey) -> None:
        if key not in self._mine:
            return
        self._mine.discard(key)
        self._claimed_at.pop(key, None)
        lease = self._lease
        owner_key = self._owner_key(key)

        async def delete() -> None:
            with suppress(EtcdUnavailable):
                await self._client.txn([compare_lease(owner_key, lease)], [delete_op(owner_key)])

        task = asyncio.get_running_loop().create_task(delete())
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def guard(self, key: InstanceKey) -> list[rpc_pb2.Compare] | None:
        """The compares under which this replica may write `key`'s status; None when it may not."""
        claim = self._claims.get(key)
        if claim is not None:
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(claim)
        if not self.may_judge(key):
            return None
        owner_key = self._owner_key(key)
        if key in self._mine:
            return [compare_lease(owner_key, self._lease)]
        return [compare_create(owner_key, 0), compare_lease(self._judge_key, self._lease)]

    # ----------------------------------------------------------------- background

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            if self.fenced:
                self._on_fenced()
            sent = self._clock()
            try:
                left = await self._client.keep_alive(self._lease)
            except EtcdUnavailable:
                if self.fenced:
                    self._on_fenced()
                continue
            if left > 0 and not self._was_fenced:
                self._valid_until = sent + left
                continue
            self._on_fenced()
            try:
                await self._take_lease()
            except EtcdUnavailable:
                continue
            self._was_fenced = False
            log.warning("replica rejoined with a new lease", extra={"replica": self.replica_id})

    def _on_fenced(self) -> None:
        if self._was_fenced:
            return
        self._was_fenced = True
        self._valid_until = 0.0
        self._judge = False
        lost = len(self._mine)
        self._mine.clear()
        self._claimed_at.clear()
        self._contested.clear()
        log.warning(
            "replica fenced: its lease in etcd expired; it owns nothing and refuses writes until it rejoins",
            extra={"replica": self.replica_id, "instances_lost": lost},
        )
        if self._events is not None:
            self._events.fenced()

    async def _follow_owners(self, revision: int) -> None:
        end = prefix_end(self._owners_root)
        async for events, _ in follow(self._client, self._owners_root, end, revision, "owners"):
            for event in events:
                kv = event.kv
                deleted = event.type == event.DELETE
                self._owner_changed(self._key(kv.key), deleted, bytes(kv.value), int(kv.mod_revision))

    def _owner_changed(self, key: InstanceKey, deleted: bool, owner: bytes, revision: int) -> None:
        events = self._events
        if key in self._mine:
            claimed = self._claimed_at.get(key, 0)
            if claimed == 0:  # our put is in flight: decide when we know its revision
                if not deleted and owner != self._me:
                    self._contested[key] = max(self._contested.get(key, 0), revision)
                return
            if revision <= claimed:
                return  # history from before our claim
            if not deleted and owner != self._me:
                self._owners[key] = owner
                self._lose(key)
            return  # a delete after our claim: our lease ended, which fences us anyway
        if not deleted:
            self._owners[key] = owner
            return
        self._owners.pop(key, None)
        if self._judge and not self.fenced and events is not None:
            events.orphaned(key)

    async def _campaign(self) -> None:
        while True:
            try:
                await self._try_to_judge()
            except EtcdUnavailable:
                self._judge = False
            await asyncio.sleep(JUDGE_CHECK_EVERY)

    async def _try_to_judge(self) -> None:
        if self.fenced:
            self._judge = False
            return
        response = await self._client.txn(
            [compare_create(self._judge_key, 0)],
            [put_op(self._judge_key, self._me, lease=self._lease)],
            [rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=self._judge_key))],
        )
        if response.succeeded:
            judge = True
        else:
            kvs = response.responses[0].response_range.kvs
            judge = bool(kvs) and kvs[0].lease == self._lease
        if judge and not self._judge:
            self._judge = True
            log.info("this replica judges instances without an owner", extra={"replica": self.replica_id})
            if self._events is not None:
                self._events.became_judge()
        self._judge = judge

    # ----------------------------------------------------------------- keys

    def _owner_key(self, key: InstanceKey) -> bytes:
        return self._owners_root + f"{key[0]}/{key[1]}".encode()

    def _key(self, raw: bytes) -> InstanceKey:
        # surrogateescape: a damaged key names no instance, and never stops the owners' watch.
        service, _, instance = raw[len(self._owners_root) :].decode("utf-8", "surrogateescape").partition("/")
        return service, instance
