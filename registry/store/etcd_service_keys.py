"""Per-service public keys in etcd, so every replica of a cluster verifies the same services.

    <prefix>/keys/services/<kid>   -> the JWK of one service key, with its `sub` and `scope`

`registry credentials issue|revoke --store etcd` writes and deletes these keys (the private half
never leaves the operator's credential file); every replica reads them at start and follows them
with a watch, so a key issued or revoked on one machine counts on every replica within the watch's
delay, milliseconds. What a value means (a JWK bound to a service) is judged by the auth layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from registry.store.etcd_client import EtcdClient, compare_create, follow, prefix_end, put_op

log = logging.getLogger(__name__)


class EtcdServiceKeys:
    """The service keys under a prefix: read, follow, add, remove."""

    def __init__(self, client: EtcdClient, prefix: str) -> None:
        self._client = client
        self._root = f"{prefix.rstrip('/')}/keys/services/".encode()
        self._task: asyncio.Task[None] | None = None
        self.where = f"etcd {self._root.decode()}"

    def _kid(self, key: bytes) -> str:
        return key[len(self._root) :].decode("utf-8", "replace")

    async def read(self) -> tuple[dict[str, bytes], int]:
        """Every key's value by kid, and the revision they were read at."""
        response = await self._client.range(self._root, prefix_end(self._root))
        return {self._kid(kv.key): bytes(kv.value) for kv in response.kvs}, int(response.header.revision)

    def start(self, after: int, changed: Callable[[str, bytes | None], None]) -> None:
        """Call `changed(kid, value)` (None: removed) for every change after revision `after`."""

        async def run() -> None:
            end = prefix_end(self._root)
            async for events, _ in follow(self._client, self._root, end, after, "service keys"):
                for event in events:
                    deleted = event.type == event.DELETE
                    changed(self._kid(event.kv.key), None if deleted else bytes(event.kv.value))

        self._task = asyncio.create_task(run(), name="etcd-service-keys")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def add(self, kid: str, value: bytes) -> bool:
        """Store a new key; False when the kid is taken."""
        key = self._root + kid.encode()
        response = await self._client.txn([compare_create(key, 0)], [put_op(key, value)])
        return bool(response.succeeded)

    async def remove(self, kid: str) -> bool:
        response = await self._client.delete(self._root + kid.encode())
        return bool(response.deleted)
