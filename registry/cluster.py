"""Cluster mode's parts (docs/cluster.md): the etcd client and the stores built on it.

The composition root (registry/app.py) asks for these when `store=etcd`; everything that speaks
etcd lives in registry/store/, and the core only sees the store ports.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from registry.config import Config, split_list
from registry.store.etcd import EtcdStore
from registry.store.etcd_client import EtcdClient, EtcdSettings
from registry.store.etcd_events import EtcdEventLog


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


class ClusterParts:
    """One etcd client per replica, shared by its stores; `close` it last."""

    def __init__(self, config: Config) -> None:
        self.settings = etcd_settings(config)
        self.replica_id = replica_id(config)
        self.client = EtcdClient(self.settings)
        self.store = EtcdStore(self.client, self.settings.prefix)
        self.events = EtcdEventLog(self.client, self.settings.prefix)

    async def close(self) -> None:
        await self.client.close()
