"""Just enough of etcd's v3 gRPC API for the benchmarks to put etcd beside the registry.

The benchmarks call three methods (Lease.LeaseGrant, Lease.LeaseKeepAlive, KV.Range, plus KV.Put
to load data). Their messages are a few integer and bytes fields, so they are encoded here by
hand (protobuf wire format: varints and length-delimited fields, field numbers from etcd's
`etcdserverpb/rpc.proto`) instead of generating stubs for the whole etcd API. `etcd_server()`
runs Debian's /usr/bin/etcd (package etcd-server) on loopback ports with a throw-away data dir on
tmpfs (/dev/shm), removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from bench.harness import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
LEASE_GRANT = "/etcdserverpb.Lease/LeaseGrant"
LEASE_KEEP_ALIVE = "/etcdserverpb.Lease/LeaseKeepAlive"
KV_PUT = "/etcdserverpb.KV/Put"
KV_RANGE = "/etcdserverpb.KV/Range"


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 fields travel as two's complement
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def fields(data: bytes) -> dict[int, int | bytes]:
    """The top-level fields of a message (the last occurrence of each), varints and bytes only."""
    found: dict[int, int | bytes] = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            found[number], i = _read_varint(data, i)
        elif kind == 2:
            size, i = _read_varint(data, i)
            found[number] = data[i : i + size]
            i += size
        else:
            raise ValueError(f"unexpected wire type {kind}")
    return found


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def lease_grant_request(ttl: int) -> bytes:
    return _field_varint(1, ttl)  # LeaseGrantRequest.TTL


def lease_id(response: bytes) -> int:
    """LeaseGrantResponse.ID (field 2) or LeaseKeepAliveResponse.ID (field 2)."""
    value = fields(response).get(2, 0)
    assert isinstance(value, int)
    return value


def keep_alive_request(lease: int) -> bytes:
    return _field_varint(1, lease)  # LeaseKeepAliveRequest.ID


def put_request(key: bytes, value: bytes) -> bytes:
    return _field_bytes(1, key) + _field_bytes(2, value)


def range_request(key: bytes, range_end: bytes, *, serializable: bool = True) -> bytes:
    """A prefix read; serializable (answered by the member itself, no quorum round): the closest
    thing to the registry's in-memory Lookup."""
    return _field_bytes(1, key) + _field_bytes(2, range_end) + _field_varint(7, int(serializable))


def identity(data: bytes) -> bytes:
    return data


def unary(channel: grpc.Channel | grpc.aio.Channel, method: str) -> object:
    return channel.unary_unary(method, request_serializer=identity, response_deserializer=identity)


@contextmanager
def etcd_server(quota_bytes: int = 8 << 30) -> Iterator[tuple[int, str]]:
    """A one-member etcd on loopback; yields (pid, client address)."""
    # tmpfs when there is one: etcd's fsyncs then cost what its own work costs, not the disk's
    data = tempfile.mkdtemp(prefix="bench-etcd-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    client, peer = free_port(), free_port()
    log = open(os.path.join(data, "etcd.log"), "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            ETCD,
            "--data-dir", os.path.join(data, "member"),
            "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}",
            "--quota-backend-bytes", str(quota_bytes),
            "--max-concurrent-streams", "4294967295",
            "--log-level", "error",
        ],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ETCD_UNSUPPORTED_ARCH": "arm64"},
    )  # fmt: skip
    address = f"127.0.0.1:{client}"
    try:
        deadline = time.monotonic() + 30
        with grpc.insecure_channel(address) as channel:
            while True:
                try:
                    unary(channel, KV_RANGE)(range_request(b"x", b""), timeout=1)  # type: ignore[operator]
                    break
                except grpc.RpcError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"etcd did not start; see {data}/etcd.log") from None
                    time.sleep(0.1)
        yield proc.pid, address
    finally:
        proc.kill()
        proc.wait(10)
        log.close()
        shutil.rmtree(data, ignore_errors=True)
