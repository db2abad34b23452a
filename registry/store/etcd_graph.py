"""The cluster's observed graph in etcd: each replica's latest summary, on its replica lease.

    <prefix>/graph/<replica>   -> summary of the replica's observed edges (registry/core/graph_share)

The key lives on the replica's lease, so the share of a replica that dies disappears with it.
Written every few seconds by each replica, never per message.
"""

from __future__ import annotations

from collections.abc import Callable

from registry.store.etcd_client import EtcdClient, prefix_end


class EtcdGraphShare:
    """`GraphShare` for cluster mode. `lease` reads the replica's current lease (0: none yet)."""

    def __init__(self, client: EtcdClient, prefix: str, replica_id: str, lease: Callable[[], int]) -> None:
        self._client = client
        self._root = f"{prefix.rstrip('/')}/graph/".encode()
        self._key = self._root + replica_id.encode()
        self._lease = lease

    async def exchange(self, summary: bytes) -> list[bytes]:
        lease = self._lease()
        if lease:
            await self._client.put(self._key, summary, lease=lease)
        response = await self._client.range(self._root, prefix_end(self._root))
        return [bytes(kv.value) for kv in response.kvs if bytes(kv.key) != self._key]
