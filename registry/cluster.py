"""Cluster mode's parts (docs/cluster.md): the etcd client and the stores built on it.

The composition root (registry/app.py) asks for these when `store=etcd`; everything that speaks
etcd lives in registry/store/, and the core only sees the store ports.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from registry.auth.delivery_tokens import DeliverySigner
from registry.auth.keys import ServiceKeySet
from registry.config import Config, split_list
from registry.core.model import Change
from registry.store.etcd import EtcdStore
from registry.store.etcd_client import EtcdClient, EtcdSettings
from registry.store.etcd_events import EtcdEventLog
from registry.store.etcd_graph import EtcdGraphShare
from registry.store.etcd_ownership import EtcdOwnership
from registry.store.etcd_secrets import shared_delivery_key
from registry.store.etcd_service_keys import EtcdServiceKeys


def etcd_settings(config: Config) -> EtcdSettings:
    return EtcdSettings(
        endpoints=tuple(split_list(config.etcd_endpoints)),
        prefix=config.etcd_prefix,
        user=config.etcd_user,
        password=config.etcd_password,
        ca_file=Path(config.etcd_ca_file) if config.etcd_ca_file else None,
        cert_file=Path(config.etcd_cert_file) if config.etcd_cert_file else None,
        key_file=Path(config.etcd_key_file) if config.etcd_key_file else None,
        request_timeout=config.etcd_timeout,
        lease_ttl=config.etcd_lease_ttl,
    )


def replica_id(config: Config) -> str:
    return config.replica_id or f"{socket.gethostname()}-{os.getpid()}"


class SharedSigner(DeliverySigner):
    """The delivery signer of a replica, with the cluster's key from etcd (`adopt`, at start)."""

    def __init__(self) -> None:  # no key yet: the servers start only after `adopt`
        pass

    def adopt(self, key: ed25519.Ed25519PrivateKey) -> None:
        super().__init__(key)


class ClusterParts:
    """One etcd client per replica, shared by its stores; `close` it last."""

    def __init__(self, config: Config) -> None:
        self.settings = etcd_settings(config)
        self.replica_id = replica_id(config)
        self.client = EtcdClient(self.settings)
        self.ownership = EtcdOwnership(
            self.client, self.settings.prefix, self.replica_id, ttl=self.settings.lease_ttl
        )
        self.store = EtcdStore(self.client, self.settings.prefix, self.ownership)
        self.events = EtcdEventLog(self.client, self.settings.prefix)
        self.signer = SharedSigner()
        ownership = self.ownership
        self.graph_share = EtcdGraphShare(
            self.client, self.settings.prefix, self.replica_id, lambda: ownership.lease
        )
        self._service_key_store = EtcdServiceKeys(self.client, self.settings.prefix)
        self.service_keys = ServiceKeySet(self._service_key_store.where)
        """Per-service keys as etcd holds them (`registry credentials issue --store etcd`)."""

    async def start(self, address: str) -> None:
        """Adopt the shared secrets and join (lease, ownership); before the server starts."""
        await self.client.authenticate()
        self.signer.adopt(await shared_delivery_key(self.client, self.settings.prefix))
        stored, revision = await self._service_key_store.read()
        for kid, value in stored.items():
            self.service_keys.put(kid, value)
        self._service_key_store.start(revision, self._service_key_changed)
        await self.ownership.start(address)

    def _service_key_changed(self, kid: str, value: bytes | None) -> None:
        if value is None:
            self.service_keys.remove(kid)
        else:
            self.service_keys.put(kid, value)

    def decided_here(self, listener: Callable[[Change], None]) -> Callable[[Change], None]:
        """`listener`, called only for changes of instances this replica decides (it owns them, or
        judges them while they have no owner). Every replica applies every change; this is how
        lifecycle events are announced once per change, not once per replica."""
        may_judge = self.ownership.may_judge

        def decided(change: Change) -> None:
            if may_judge(change.instance.key):
                listener(change)

        return decided

    async def close(self) -> None:
        await self._service_key_store.stop()
        await self.ownership.close()
        await self.client.close()
