"""Send: commands and queries through the registry to real Inbox servers.

A real registry on a loopback port, real target servers built from the generated stubs (they
verify every delivery token with the keys from GetDeliveryKeys), real channels.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from registry.auth.delivery_tokens import KEY_FILE_NAME
from registry.core.model import HealthStatus
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import BeatStream
from tests.helpers.registry_api import bad_request_fields, error_info, error_reason
from tests.helpers.relay_api import COMMAND, QUERY, Targets, relay_stub, reply_of, send_request, targets_for


@pytest.fixture
async def targets(registry: Registry, channel: grpc.aio.Channel) -> AsyncIterator[Targets]:
    async with targets_for(registry.address, channel) as found:
        yield found


async def test_send_delivers_a_verified_envelope_and_returns_the_reply(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    inbox = await targets.start("orders-1")
    request = send_request("orders", "echo", QUERY, payload=b"ping", headers={"k": "v"}, tenant_id="t-1")
    request.envelope.source_service = "forged"  # output only: must be replaced
    request.envelope.sequence = 99

    caller_context = [
        ("x-source-service", "billing"),
        ("traceparent", "00-5430d7d63aba2df7c7a62ed7ff369238-b1b990ef172891ac-01"),
        ("baggage", "tenant=acme"),
    ]
    response = await relay_stub(channel).Send(request, metadata=caller_context, timeout=5)

    reply = reply_of(response)
    assert response.instance_id == "orders-1"
    assert response.attempts == 1
    assert response.reply.content_type == "application/json"
    assert dict(response.reply.headers) == {"served-by": "x"}
    assert re.fullmatch("[0-9a-f]{32}", response.trace_id)
    assert reply["payload"] == "ping"
    assert reply["claims"]["sub"] == "billing", "the token names the sender"
    assert reply["claims"]["aud"] == "orders"
    assert reply["claims"]["eid"] == response.envelope_id
    assert reply["claims"]["exp"] - reply["claims"]["iat"] == 60
    (arrival,) = inbox.arrivals
    assert arrival.envelope.source_service == "billing"
    assert arrival.envelope.sequence == 0
    assert arrival.envelope.id == response.envelope_id
    assert arrival.envelope.trace_id == response.trace_id
    assert arrival.envelope.tenant_id == "t-1"
    assert dict(arrival.envelope.headers) == {"k": "v"}
    assert arrival.envelope.priority == epb.PRIORITY_NORMAL, "UNSPECIFIED is delivered as NORMAL"
    assert response.trace_id == "5430d7d63aba2df7c7a62ed7ff369238", "the caller's trace continues"
    assert arrival.metadata["traceparent"].split("-")[1] == response.trace_id
    assert arrival.metadata["baggage"] == "tenant=acme", "baggage travels on with the forward"


async def test_the_callers_envelope_id_is_kept(channel: grpc.aio.Channel, targets: Targets) -> None:
    await targets.start("orders-1")
    response = await relay_stub(channel).Send(send_request(id="order-42:create"), timeout=5)
    assert response.envelope_id == "order-42:create"
    assert reply_of(response)["claims"]["eid"] == "order-42:create"


async def test_delivery_keys_are_the_registrys_own_and_kept_private(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    keys = await relay_stub(channel).GetDeliveryKeys(pb.GetDeliveryKeysRequest())
    key_file = registry.config.data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    (key,) = jwt.PyJWKSet.from_json(keys.jwks).keys
    assert key.key_id == registry.signer.key_id
    assert key.algorithm_name == "EdDSA"
    token = registry.signer.sign(source="a", target="b", envelope_id="e")
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience="b", issuer=keys.issuer)
    assert (claims["sub"], claims["eid"]) == ("a", "e")


async def test_round_robin_takes_each_serving_instance_in_turn(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    for instance_id in ("orders-1", "orders-2", "orders-3"):
        await targets.start(instance_id)
    relay = relay_stub(channel)
    served = [(await relay.Send(send_request(), timeout=5)).instance_id for _ in range(6)]
    assert sorted(served[:3]) == ["orders-1", "orders-2", "orders-3"]
    assert served[3:] == served[:3]


async def test_least_loaded_picks_the_instance_reporting_the_least_load(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    for instance_id in ("orders-1", "orders-2", "orders-3"):
        await targets.start(instance_id)
    streams = []
    for instance_id, in_flight in (("orders-1", 9), ("orders-2", 0), ("orders-3", 4)):
        stream = BeatStream(channel)
        await stream.bind(instance_id)
        await stream.beat(load=hb.Load(in_flight=in_flight, cpu=0.5))
        streams.append(stream)
    relay = relay_stub(channel)
    least = [
        (await relay.Send(send_request(load_balancing=pb.LOAD_BALANCING_LEAST_LOADED), timeout=5)).instance_id
        for _ in range(5)
    ]
    assert least == ["orders-2"] * 5
    await streams[1].beat(load=hb.Load(in_flight=20, cpu=0.1))
    request = send_request(load_balancing=pb.LOAD_BALANCING_LEAST_LOADED)
    assert (await relay.Send(request, timeout=5)).instance_id == "orders-3"
    for stream in streams:
        stream.close()


async def test_the_callers_deadline_reaches_the_target(channel: grpc.aio.Channel, targets: Targets) -> None:
    inbox = await targets.start("orders-1")
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Send(send_request("orders", "sleep", headers={"sleep": "5"}), timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.5
    (arrival,) = inbox.arrivals
    # The caller's deadline, not the registry's 30 s default (gRPC rounds the header up a little).
    assert arrival.time_remaining is not None
    assert 0 < arrival.time_remaining <= 0.33
    async with asyncio.timeout(2):
        while not arrival.cancelled:  # the target's handler is cancelled when the deadline passes
            await asyncio.sleep(0.01)


async def test_a_query_is_retried_once_on_another_instance(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    await targets.start("orders-1")
    await targets.start("orders-2")
    await targets.kill("orders-1")  # still registered and serving as far as the registry knows
    relay = relay_stub(channel)
    responses = [await relay.Send(send_request(), timeout=5) for _ in range(4)]
    assert {r.instance_id for r in responses} == {"orders-2"}
    assert sorted(r.attempts for r in responses) == [1, 1, 2, 2]


async def test_a_command_is_retried_only_with_an_idempotency_key(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    await targets.start("orders-1")
    await targets.start("orders-2")
    await targets.kill("orders-1")
    relay = relay_stub(channel)
    keyed = [
        await relay.Send(send_request("orders", "create", COMMAND, idempotency_key=f"k{i}"), timeout=5)
        for i in range(2)
    ]
    assert sorted(r.attempts for r in keyed) == [1, 2]
    outcomes: list[tuple[str, str]] = []
    for _ in range(2):
        try:
            response = await relay.Send(send_request("orders", "create", COMMAND), timeout=5)
            outcomes.append(("OK", response.instance_id))
        except grpc.aio.AioRpcError as error:
            outcomes.append((error.code().name, error.details() or ""))
    outcomes.sort()
    assert outcomes[0] == ("OK", "orders-2")
    assert outcomes[1][0] == "UNAVAILABLE", "a COMMAND without an idempotency key is not retried"
    assert "instance 'orders-1' of service 'orders' is unavailable" in outcomes[1][1]
    assert "idempotency_key" in outcomes[1][1]


async def test_a_targets_unavailable_status_also_triggers_the_retry(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    first = await targets.start("orders-1")
    second = await targets.start("orders-2")
    relay = relay_stub(channel)
    request = send_request("orders", "fail", QUERY, headers={"code": "UNAVAILABLE", "instance": "orders-1"})
    responses = [await relay.Send(request, timeout=5) for _ in range(2)]
    assert {r.instance_id for r in responses} == {"orders-2"}
    assert (len(first.arrivals), len(second.arrivals)) == (1, 2)


async def test_the_targets_error_status_comes_back_unchanged(
    channel: grpc.aio.Channel, targets: Targets
) -> None:
    first = await targets.start("orders-1")
    second = await targets.start("orders-2")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Send(
            send_request("orders", "fail", QUERY, headers={"code": "FAILED_PRECONDITION"})
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.details() == "failing on purpose"
    assert error_reason(caught.value) == "TARGET_ERROR"
    assert len(first.arrivals) + len(second.arrivals) == 1, "only UNAVAILABLE is retried"


async def test_unknown_service_is_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Send(send_request("nobody"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "no instance of service 'nobody' is registered"


async def test_no_serving_instance_is_unavailable(
    registry: Registry, channel: grpc.aio.Channel, targets: Targets
) -> None:
    await targets.start("orders-1")
    registry.catalog.set_status(("orders", "orders-1"), HealthStatus.CRITICAL)
    http_only = ipb.Endpoint(host="127.0.0.1", port=8080, protocol=ipb.ENDPOINT_PROTOCOL_HTTP)
    await rpb_grpc.RegistryServiceStub(channel).Register(
        rpb.RegisterRequest(
            instance=ipb.Instance(service_name="orders", instance_id="orders-web", endpoints=[http_only])
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Send(send_request())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() == (
        "service 'orders' has 2 registered instance(s) but none is serving with a GRPC endpoint"
    )
    assert error_reason(caught.value) == "NO_HEALTHY_INSTANCE"
    assert error_info(caught.value).metadata["service"] == "orders"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (send_request("orders", "tick", 3), "envelope.type"),
        (send_request("orders", "echo", 0), "envelope.type"),
        (send_request("Orders!"), "envelope.target_service"),
        (send_request(""), "envelope.target_service"),
        (send_request("orders", ""), "envelope.name"),
        (send_request("orders", "a..b"), "envelope.name"),
        (send_request(id="has space"), "envelope.id"),
        (send_request(payload=b"x" * (256 * 1024 + 1)), "envelope.payload"),
        (send_request(headers={"Upper": "v"}), "envelope.headers"),
        (send_request(headers={f"h{i}": "v" for i in range(33)}), "envelope.headers"),
        (send_request(priority=9), "envelope.priority"),
        (send_request(idempotency_key="k" * 129), "envelope.idempotency_key"),
        (send_request(tenant_id="t" * 129), "envelope.tenant_id"),
        (send_request(load_balancing=7), "load_balancing"),
        (pb.SendRequest(), "envelope"),
    ],
)
async def test_invalid_sends_name_the_field(
    channel: grpc.aio.Channel, request_: pb.SendRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Send(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == [field]


async def test_channel_to_an_instance_is_closed_when_it_leaves(
    registry: Registry, channel: grpc.aio.Channel, targets: Targets
) -> None:
    await targets.start("orders-1")
    await relay_stub(channel).Send(send_request(), timeout=5)
    assert registry.inbox.open_channels == 1
    await rpb_grpc.RegistryServiceStub(channel).Deregister(
        rpb.DeregisterRequest(service_name="orders", instance_id="orders-1")
    )
    assert registry.inbox.open_channels == 0


async def test_the_channel_pool_is_bounded(start_registry: StartRegistry) -> None:
    registry = await start_registry(relay_max_channels=2)
    async with (
        grpc.aio.insecure_channel(registry.address) as own,
        targets_for(registry.address, own) as targets,
    ):
        for index in range(4):
            await targets.start(f"svc{index}-1", service=f"svc{index}")
            await relay_stub(own).Send(send_request(f"svc{index}"), timeout=5)
            assert registry.inbox.open_channels == min(index + 1, 2)
