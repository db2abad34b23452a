"""Cluster mode over TLS: a real etcd member serving its client port with TLS and requiring client
certificates (`--client-cert-auth`), certificates made by the test, and real `registry serve`
replicas. A replica with the right CA and a client certificate registers and looks up through
etcd; one that does not trust etcd's certificate, or has no client certificate, refuses to start
with one line and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc
from tests.helpers.certs import Authority, Pair
from tests.helpers.etcd import ClientTls, etcd_cluster
from tests.helpers.process import running_server


@dataclass(frozen=True)
class TlsEtcd:
    endpoints: str
    ca: Path
    client: Pair
    stranger_ca: Path
    """A CA that signed nothing etcd serves."""


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEtcd]:
    folder = tmp_path_factory.mktemp("etcd-tls")
    authority = Authority(folder / "ca", "etcd-ca")
    server = authority.issue("etcd", server=True)
    client = authority.issue("registry")
    stranger = Authority(folder / "stranger", "stranger-ca")
    tls = ClientTls(authority.cert, server.cert, server.key, client.cert, client.key)
    with etcd_cluster(1, tls) as cluster:
        yield TlsEtcd(cluster.endpoints, authority.cert, client, stranger.cert)


def _cluster_flags(etcd: TlsEtcd, prefix: str, *tls: str) -> list[str]:
    return ["--store=etcd", f"--etcd-endpoints={etcd.endpoints}", f"--etcd-prefix={prefix}", *tls]


def _serve(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli.main", "serve", "--port=0", f"--db-path={db}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "REGISTRY_AUTH_MODE": "off"},
    )


def test_a_replica_registers_and_looks_up_through_etcd_over_tls(
    tls_etcd: TlsEtcd, etcd_prefix: str, tmp_path: Path
) -> None:
    tls = [
        f"--etcd-ca-file={tls_etcd.ca}",
        f"--etcd-cert-file={tls_etcd.client.cert}",
        f"--etcd-key-file={tls_etcd.client.key}",
    ]
    flags = _cluster_flags(tls_etcd, etcd_prefix, *tls)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_server(tmp_path / "a" / "registry.db", *flags, "--replica-id=a") as a,
        running_server(tmp_path / "b" / "registry.db", *flags, "--replica-id=b") as b,
    ):
        with grpc.insecure_channel(a.address) as channel:
            registry_service_pb2_grpc.RegistryServiceStub(channel).Register(
                registry_service_pb2.RegisterRequest(
                    instance=instance_pb2.Instance(
                        service_name="orders",
                        instance_id="orders-1",
                        endpoints=[
                            instance_pb2.Endpoint(
                                host="10.0.0.1", port=9000, protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC
                            )
                        ],
                    )
                ),
                timeout=10,
            )
        with grpc.insecure_channel(b.address) as channel:  # through etcd, over TLS both ways
            lookup = registry_service_pb2_grpc.RegistryServiceStub(channel).Lookup
            request = registry_service_pb2.LookupRequest(service_name="orders")
            for _ in range(500):
                found = lookup(request, timeout=10)
                if found.instances:
                    break
        assert [i.instance_id for i in found.instances] == ["orders-1"]
        assert a.terminate() == 0
        assert b.terminate() == 0
        assert a.error_lines() == []
        assert b.error_lines() == []


@pytest.mark.parametrize("case", ["wrong-ca", "no-client-certificate"])
def test_a_replica_that_cannot_reach_etcd_over_tls_refuses_to_start_with_one_line(
    tls_etcd: TlsEtcd, etcd_prefix: str, tmp_path: Path, case: str
) -> None:
    if case == "wrong-ca":
        tls = [
            f"--etcd-ca-file={tls_etcd.stranger_ca}",
            f"--etcd-cert-file={tls_etcd.client.cert}",
            f"--etcd-key-file={tls_etcd.client.key}",
        ]
    else:
        tls = [f"--etcd-ca-file={tls_etcd.ca}"]
    result = _serve(
        tmp_path / "registry.db", *_cluster_flags(tls_etcd, etcd_prefix, *tls), "--etcd-timeout=1"
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"registry serve: etcd at {tls_etcd.endpoints}:"), lines[0]
    assert "unreachable" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
