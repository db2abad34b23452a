"""Cluster mode against an etcd with authentication on: the registry logs in with the configured
user and password, and a wrong password is refused at start with a clear error."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import grpc
import pytest

from registry.core.errors import Unavailable
from tests.conftest import StartRegistry
from tests.helpers.etcd import etcd_cluster
from tests.helpers.registry_api import register, stub

PASSWORD = "s3cret-registry-pass"


@pytest.fixture(scope="module")
def etcd_with_auth() -> Iterator[str]:
    with etcd_cluster(1) as cluster:
        endpoints = cluster.endpoints

        def etcdctl(*args: str) -> None:
            subprocess.run(
                ["etcdctl", "--endpoints", endpoints, *args],
                check=True,
                capture_output=True,
                env={"ETCDCTL_API": "3"},
                timeout=30,
            )

        etcdctl("user", "add", f"root:{PASSWORD}")
        etcdctl("auth", "enable")
        yield endpoints


async def test_the_registry_logs_in_to_etcd_with_its_user_and_password(
    start_registry: StartRegistry, etcd_with_auth: str, etcd_prefix: str
) -> None:
    registry = await start_registry(
        store="etcd",
        etcd_endpoints=etcd_with_auth,
        etcd_prefix=etcd_prefix,
        etcd_user="root",
        etcd_password=PASSWORD,
    )
    async with grpc.aio.insecure_channel(registry.address) as channel:
        response = await register(stub(channel), "orders", "orders-1")
    assert response.created
    assert registry.catalog.find(("orders", "orders-1")) is not None


async def test_a_wrong_etcd_password_stops_the_start_with_a_clear_error(
    start_registry: StartRegistry, etcd_with_auth: str, etcd_prefix: str
) -> None:
    with pytest.raises(Unavailable, match="authentication failed"):
        await start_registry(
            store="etcd",
            etcd_endpoints=etcd_with_auth,
            etcd_prefix=etcd_prefix,
            etcd_user="root",
            etcd_password="not-the-password",
        )
