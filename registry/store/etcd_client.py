"""A small asyncio etcd v3 client on grpc.aio and stubs generated from etcd's own protos.

Why not an etcd package from PyPI: see docs/cluster.md ("The etcd client"). In short, the asyncio
ones ship protobuf code generated for protobuf 3 and pin old grpcio; generating from etcd's API
definitions (third_party/etcd) with the grpcio-tools we already use keeps one gRPC and one protobuf
runtime in the process and gives us exactly the calls we need: KV (range, put, delete, txn), Lease
(grant, keep-alive, revoke), Watch (with progress requests) and Auth (authenticate).

Connection: one channel over every endpoint with gRPC's `round_robin` policy, so consecutive calls
spread over the members and a dead member is skipped. Unary calls carry a deadline
(`request_timeout`): when etcd has no quorum a write fails after it with `EtcdUnavailable` instead
of hanging. Watch streams carry `hasleader=true` (as etcd's Go client's `WithRequireLeader`), so a
member cut off from its quorum cancels them instead of going silent. With a user and password the
client authenticates and sends the token on every call, re-authenticating once when it expires.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc

from generated.etcd.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from generated.etcd.mvccpb import kv_pb2

log = logging.getLogger(__name__)

T = TypeVar("T")

KeyValue = kv_pb2.KeyValue
Event = kv_pb2.Event


RETRY_PAUSE = 0.05
"""Seconds between attempts of a call that met an unavailable member."""
ATTEMPT_TIMEOUT = 0.75
"""Seconds one attempt may take: a proposal lost in a leader change is never answered (etcd gives
up on it after about 6 s), so the call is sent again instead of waiting for that."""
_RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class EtcdUnavailable(Exception):
    """etcd did not answer in time (no quorum, all members unreachable) or refused the call."""


@dataclass(frozen=True, slots=True)
class EtcdSettings:
    """How to reach etcd. `endpoints` are `host:port`; TLS when `ca_file` is set (with `cert_file`
    and `key_file` for client certificates)."""

    endpoints: tuple[str, ...]
    prefix: str = "/registry"
    user: str = ""
    password: str = field(default="", repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    request_timeout: float = 3.0
    lease_ttl: int = 5
    """Seconds a replica's lease outlives its last keep-alive: how soon a dead or cut-off replica
    loses its instances to the survivors."""


def prefix_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with `prefix` (etcd's `WithPrefix`)."""
    end = bytearray(prefix)
    for index in range(len(end) - 1, -1, -1):
        if end[index] < 0xFF:
            end[index] += 1
            return bytes(end[: index + 1])
    return b"\0"


def _target(endpoints: Sequence[str]) -> str:
    """A gRPC target naming every endpoint: `ipv4:`/`ipv6:` lists for literals, else DNS for one."""
    hosts = []
    for endpoint in endpoints:
        host, _, port = endpoint.rpartition(":")
        host = host.strip("[]")
        try:
            hosts.append((ipaddress.ip_address(host), port))
        except ValueError:
            if len(endpoints) == 1:
                return f"dns:///{endpoint}"
            raise ValueError(f"etcd endpoint {endpoint!r}: several endpoints must be IP addresses") from None
    if all(h.version == 4 for h, _ in hosts):
        return "ipv4:" + ",".join(f"{h}:{p}" for h, p in hosts)
    return "ipv6:" + ",".join(f"[{h}]:{p}" for h, p in hosts)


def _channel(settings: EtcdSettings) -> grpc.aio.Channel:
    options: list[tuple[str, Any]] = [
        ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})),
        ("grpc.keepalive_time_ms", 2_000),
        ("grpc.keepalive_timeout_ms", 2_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1_000),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ]
    target = _target(settings.endpoints)
    if settings.ca_file is None:
        return grpc.aio.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=settings.ca_file.read_bytes(),
        private_key=settings.key_file.read_bytes() if settings.key_file else None,
        certificate_chain=settings.cert_file.read_bytes() if settings.cert_file else None,
    )
    return grpc.aio.secure_channel(target, credentials, options=options)


class EtcdClient:
    """See the module docstring. `close` when done."""

    def __init__(self, settings: EtcdSettings) -> None:
        self.settings = settings
        self._channel = _channel(settings)
        self._kv = rpc_pb2_grpc.KVStub(self._channel)
        self._lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self._watch = rpc_pb2_grpc.WatchStub(self._channel)
        self._auth = rpc_pb2_grpc.AuthStub(self._channel)
        self._token = ""

    async def close(self) -> None:
        await self._channel.close(None)

    # ----------------------------------------------------------------- calls

    def _metadata(self, watch: bool = False) -> tuple[tuple[str, str], ...]:
        metadata: list[tuple[str, str]] = [("hasleader", "true")] if watch else []
        if self._token:
            metadata.append(("token", self._token))
        return tuple(metadata)

    async def authenticate(self) -> None:
        """Get a token when a user is configured (a no-op otherwise)."""
        if not self.settings.user:
            return
        request = rpc_pb2.AuthenticateRequest(name=self.settings.user, password=self.settings.password)
        response = await self._call(self._auth.Authenticate, request, authenticate=False)
        self._token = response.token

    async def _call(self, method: Any, request: Any, *, authenticate: bool = True) -> Any:
        """One unary call within `request_timeout` in all, retried on UNAVAILABLE or a slow attempt
        (a member that just died, a leader election) on whichever member answers; a put retried may be
        applied twice, which every caller tolerates (guarded transactions fail the second time;
        an event may be delivered twice, never lost)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.request_timeout
        reauthenticated = False
        while True:
            left = deadline - loop.time()
            try:
                attempt = max(min(left, ATTEMPT_TIMEOUT), 0.001)
                return await method(request, timeout=attempt, metadata=self._metadata())
            except grpc.aio.AioRpcError as error:
                code = error.code()
                details = error.details() or ""
                if code == grpc.StatusCode.UNAUTHENTICATED and "token" in details:
                    if authenticate and not reauthenticated and self.settings.user:
                        reauthenticated = True
                        await self.authenticate()
                        continue
                elif code in _RETRIED and loop.time() + RETRY_PAUSE < deadline:
                    await asyncio.sleep(RETRY_PAUSE)
                    continue
                raise EtcdUnavailable(f"etcd: {code.name}: {details}") from error

    async def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        limit: int = 0,
        keys_only: bool = False,
        count_only: bool = False,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
        sort_create_ascending: bool = False,
        sort_create_descending: bool = False,
        serializable: bool = False,
    ) -> rpc_pb2.RangeResponse:
        request = rpc_pb2.RangeRequest(
            key=key,
            range_end=range_end,
            revision=revision,
            limit=limit,
            keys_only=keys_only,
            count_only=count_only,
            min_create_revision=min_create_revision,
            max_create_revision=max_create_revision,
            serializable=serializable,
        )
        if sort_create_ascending or sort_create_descending:
            request.sort_target = rpc_pb2.RangeRequest.CREATE
            request.sort_order = (
                rpc_pb2.RangeRequest.ASCEND if sort_create_ascending else rpc_pb2.RangeRequest.DESCEND
            )
        response: rpc_pb2.RangeResponse = await self._call(self._kv.Range, request)
        return response

    async def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        """Put; the revision of the write."""
        response = await self._call(self._kv.Put, rpc_pb2.PutRequest(key=key, value=value, lease=lease))
        return int(response.header.revision)

    async def delete(self, key: bytes, range_end: bytes = b"") -> rpc_pb2.DeleteRangeResponse:
        response: rpc_pb2.DeleteRangeResponse = await self._call(
            self._kv.DeleteRange, rpc_pb2.DeleteRangeRequest(key=key, range_end=range_end)
        )
        return response

    async def txn(
        self,
        compare: Sequence[rpc_pb2.Compare],
        success: Sequence[rpc_pb2.RequestOp],
        failure: Sequence[rpc_pb2.RequestOp] = (),
    ) -> rpc_pb2.TxnResponse:
        request = rpc_pb2.TxnRequest(compare=compare, success=success, failure=failure)
        response: rpc_pb2.TxnResponse = await self._call(self._kv.Txn, request)
        return response

    # ----------------------------------------------------------------- leases

    async def grant(self, ttl: int) -> int:
        response = await self._call(self._lease.LeaseGrant, rpc_pb2.LeaseGrantRequest(TTL=ttl))
        if response.error:
            raise EtcdUnavailable(f"etcd refused a lease: {response.error}")
        return int(response.ID)

    async def revoke(self, lease: int) -> None:
        await self._call(self._lease.LeaseRevoke, rpc_pb2.LeaseRevokeRequest(ID=lease))

    async def keep_alive(self, lease: int) -> float:
        """Renew `lease` once; the TTL left (0 when etcd no longer knows it)."""

        async def one() -> AsyncIterator[rpc_pb2.LeaseKeepAliveRequest]:
            yield rpc_pb2.LeaseKeepAliveRequest(ID=lease)

        call = self._lease.LeaseKeepAlive(
            one(), metadata=self._metadata(), timeout=self.settings.request_timeout
        )
        try:
            async for response in call:
                return float(response.TTL)
        except grpc.aio.AioRpcError as error:
            raise EtcdUnavailable(f"etcd: {error.code().name}: {error.details()}") from error
        finally:
            call.cancel()
        raise EtcdUnavailable("etcd ended the keep-alive stream")

    # ----------------------------------------------------------------- watch

    async def watch(
        self, key: bytes, range_end: bytes, start_revision: int, progress_every: float = 0.0
    ) -> AsyncIterator[rpc_pb2.WatchResponse]:
        """Responses of one watch from `start_revision` (inclusive) until the stream fails, which
        raises EtcdUnavailable (or `WatchCompacted`). With `progress_every`, asks etcd for a
        progress notification that often, so the caller learns the current revision when quiet."""
        requests: asyncio.Queue[rpc_pb2.WatchRequest | None] = asyncio.Queue()
        create = rpc_pb2.WatchCreateRequest(key=key, range_end=range_end, start_revision=start_revision)
        requests.put_nowait(rpc_pb2.WatchRequest(create_request=create))

        async def outgoing() -> AsyncIterator[rpc_pb2.WatchRequest]:
            while (request := await requests.get()) is not None:
                yield request

        call = self._watch.Watch(outgoing(), metadata=self._metadata(watch=True))
        ticker: asyncio.Task[None] | None = None
        if progress_every > 0:

            async def tick() -> None:
                while True:
                    await asyncio.sleep(progress_every)
                    requests.put_nowait(rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest()))

            ticker = asyncio.create_task(tick(), name="etcd-watch-progress")
        try:
            async for response in call:
                if response.compact_revision:
                    raise WatchCompacted(int(response.compact_revision))
                if response.canceled:
                    raise EtcdUnavailable(f"etcd cancelled the watch: {response.cancel_reason}")
                yield response
            raise EtcdUnavailable("etcd ended the watch stream")
        except grpc.aio.AioRpcError as error:
            raise EtcdUnavailable(f"etcd watch: {error.code().name}: {error.details()}") from error
        finally:
            if ticker is not None:
                ticker.cancel()
            requests.put_nowait(None)
            call.cancel()


async def follow(
    client: EtcdClient, key: bytes, range_end: bytes, after: int, what: str
) -> AsyncIterator[tuple[Sequence[Event], int]]:
    """Every event of a key range after revision `after`, in order, forever: `(events, revision)`
    with `revision` the last one covered. Empty `events` is a settled progress report (nothing in
    the range up to `revision`). Reconnects by itself (logging the loss and the return once, as
    `what`); raises WatchCompacted when etcd no longer has the history to resume from."""
    revision = after
    failures = 0
    progress = SettledProgress()
    while True:
        try:
            async for response in client.watch(key, range_end, revision + 1, progress_every=PROGRESS_EVERY):
                if failures:
                    log.warning("etcd watch restored", extra={"watch": what, "revision": revision})
                    failures = 0
                if response.created:
                    continue  # its header is "now", but older events may still be on the way
                if response.events:
                    revision = int(response.events[-1].kv.mod_revision)
                    yield response.events, revision
                else:
                    progress.note(int(response.header.revision))
                settled = progress.settled()
                if settled > revision:
                    revision = settled
                    yield (), revision
        except WatchCompacted:
            raise
        except EtcdUnavailable as error:
            if not failures:
                log.warning("etcd watch lost; retrying", extra={"watch": what, "error": str(error)})
            failures += 1
            await asyncio.sleep(min(0.05 * failures, 1.0))


PROGRESS_EVERY = 0.5
"""Seconds between progress requests on a watch: how soon a quiet follower learns the revision."""


class WatchCompacted(EtcdUnavailable):
    """The watch's start revision is compacted away; `revision` is the oldest one left."""

    def __init__(self, revision: int) -> None:
        super().__init__(f"etcd compacted revisions below {revision}")
        self.revision = revision


class SettledProgress:
    """Progress notifications, trusted only once they are `settle` seconds old.

    etcd before 3.4.24/3.5.8 may send a progress notification ahead of events of revisions it
    covers (etcd-io/etcd#15220). A follower that trusted it at once would skip those events; one
    that waits a second for stragglers never does in practice, and still learns the revision of
    a quiet prefix within about a second."""

    def __init__(self, settle: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._settle = settle
        self._clock = clock
        self._pending: list[tuple[float, int]] = []

    def note(self, revision: int) -> None:
        self._pending.append((self._clock(), revision))

    def settled(self) -> int:
        """The highest noted revision that is old enough (0 when none)."""
        cutoff = self._clock() - self._settle
        ready = [revision for noted, revision in self._pending if noted <= cutoff]
        if not ready:
            return 0
        self._pending = [(noted, revision) for noted, revision in self._pending if noted > cutoff]
        return max(ready)


# ----------------------------------------------------------------- transaction helpers


def compare_mod(key: bytes, revision: int) -> rpc_pb2.Compare:
    """`mod_revision(key) == revision` (0: the key is absent)."""
    return rpc_pb2.Compare(
        key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.MOD, mod_revision=revision
    )


def compare_create(key: bytes, revision: int) -> rpc_pb2.Compare:
    """`create_revision(key) == revision` (0: the key is absent): the same incarnation."""
    return rpc_pb2.Compare(
        key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.CREATE, create_revision=revision
    )


def compare_value(key: bytes, value: bytes) -> rpc_pb2.Compare:
    return rpc_pb2.Compare(key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.VALUE, value=value)


def compare_lease(key: bytes, lease: int) -> rpc_pb2.Compare:
    return rpc_pb2.Compare(key=key, result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.LEASE, lease=lease)


def put_op(key: bytes, value: bytes, lease: int = 0) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value, lease=lease))


def delete_op(key: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=key))


def range_op(key: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))
