"""Per-service keys in cluster mode come from etcd: the real `registry credentials issue --store
etcd` writes the public key under the cluster's prefix, and both replicas (real etcd, auth on,
nothing shared but etcd and the operators' secret) accept the service's tokens within the watch's
delay; `revoke` makes both refuse them the same way. A damaged key value is skipped with a warning."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from tests.auth.support import SECRET, bearer, claims, registry_cli, sign
from tests.cluster.test_cluster_damaged import etcdctl
from tests.conftest import StartRegistry
from tests.helpers.registry_api import stub

WAIT = 5.0


def _cli(etcd_endpoints: str, etcd_prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    store = ["--store", "etcd", "--etcd-endpoints", etcd_endpoints, "--etcd-prefix", etcd_prefix]
    # The operator runs it with the replicas' settings, which name their shared secret.
    return registry_cli("credentials", *args, *store, env={"REGISTRY_JWT_SECRET": SECRET})


async def _answer(replica: Registry, token: str) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(replica.address) as channel:
        try:
            await stub(channel).ListServices(pb.ListServicesRequest(), metadata=bearer(token), timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def _until_all(replicas: list[Registry], token: str, code: grpc.StatusCode) -> None:
    async with asyncio.timeout(WAIT):
        while [await _answer(r, token) for r in replicas] != [code] * len(replicas):
            await asyncio.sleep(0.02)


async def test_a_key_issued_into_etcd_counts_on_every_replica_and_its_revocation_too(
    start_registry: StartRegistry,
    etcd_endpoints: str,
    etcd_prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = {
        "store": "etcd",
        "etcd_endpoints": etcd_endpoints,
        "etcd_prefix": etcd_prefix,
        "auth_mode": "jwt",
        "jwt_secret": SECRET,
    }
    a = await start_registry(**settings)
    b = await start_registry(**settings)
    out = tmp_path / "orders.credentials.json"
    issued = await asyncio.to_thread(
        _cli, etcd_endpoints, etcd_prefix, "issue", "orders", "--scope", "discover", "--out", str(out)
    )
    assert f"etcd {etcd_prefix}/keys/services/" in issued.stdout
    assert not (tmp_path / "service-keys.json").exists()
    credential = json.loads(out.read_text())
    key = serialization.load_pem_private_key(credential["private_key"].encode(), password=None)
    token = sign(claims("orders", "discover"), key, "EdDSA", kid=credential["kid"])
    await _until_all([a, b], token, grpc.StatusCode.OK)
    # The key is bound to its service: a token for another subject stays refused everywhere.
    forged = sign(claims("billing", "discover"), key, "EdDSA", kid=credential["kid"])
    assert [await _answer(r, forged) for r in (a, b)] == [grpc.StatusCode.UNAUTHENTICATED] * 2

    listed = await asyncio.to_thread(_cli, etcd_endpoints, etcd_prefix, "list", "--json")
    assert [(k["service"], k["kid"]) for k in json.loads(listed.stdout)] == [("orders", credential["kid"])]

    # A replica started now reads the keys at start; a damaged value beside them is skipped. The
    # replicas' own service keys file is not theirs to read in cluster mode, broken or not.
    (tmp_path / "service-keys.json").write_text('{"keys": [')
    etcdctl(etcd_endpoints, "put", f"{etcd_prefix}/keys/services/by-hand", '{"kty": "OKP"')
    c = await start_registry(**settings)
    await _until_all([a, b, c], token, grpc.StatusCode.OK)
    assert any("service key is unusable" in r.getMessage() for r in caplog.records)

    await asyncio.to_thread(_cli, etcd_endpoints, etcd_prefix, "revoke", "orders")
    await _until_all([a, b, c], token, grpc.StatusCode.UNAUTHENTICATED)
