"""Page tokens are opaque and tamper-evident: whatever a client sends as `page_token`, every list
method answers INVALID_ARGUMENT naming the field, and never INTERNAL."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable

import grpc
import pytest

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2 as rpb
from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.registry_api import bad_request_fields, register, stub
from tests.helpers.relay_api import relay_stub

List = Callable[[str], Awaitable[str]]
"""One list method: page_token in, next_page_token out."""


def _b64(document: object) -> str:
    raw = document.encode() if isinstance(document, str) else json.dumps(document).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _nested(depth: int) -> str:
    return '{"k":' + "[" * depth + "]" * depth + ',"s":"x"}'


CRAFTED = {
    # What was reproduced against the unsigned JSON tokens (each answered INTERNAL):
    "deeply-nested-json": _b64(_nested(100_000)),
    "superscript-digit": _b64({"k": ["²"], "s": "x"}),
    "thirty-digits": _b64({"k": ["9" * 30], "s": "x"}),
    "five-thousand-digits": _b64({"k": ["9" * 5000], "s": "x"}),
    # More ways to be wrong:
    "not-base64": "%%%not a token%%%",
    "json-not-object": _b64([1, 2, 3]),
    "wrong-types": _b64({"k": 5, "s": None}),
    "nul-and-escapes": "\x00\x1b[2J",
    "huge": "A" * 100_000,
    "forged-signature": _b64({"k": ["a"], "s": "x"}) + ".AAAAAAAAAAAAAAAAAAAAAA",
    "dots-only": "...",
}


@pytest.fixture
async def lists(registry: Registry, channel: grpc.aio.Channel) -> dict[str, List]:
    api, relay, health = stub(channel), relay_stub(channel), hb_grpc.HeartbeatServiceStub(channel)
    for n in range(3):
        await register(api, f"svc-{n}", "i-1")
        await register(api, "svc-0", f"i-{n + 2}")
    for n in range(3):
        await relay.Publish(rpb.PublishRequest(envelope=epb.Envelope(name=f"orders.e{n}")))

    async def services(token: str) -> str:
        return (await api.ListServices(pb.ListServicesRequest(page_size=1, page_token=token))).next_page_token

    async def instances(token: str) -> str:
        request = pb.ListInstancesRequest(page_size=1, page_token=token)
        return (await api.ListInstances(request)).next_page_token

    async def instance_health(token: str) -> str:
        request = hb.ListInstanceHealthRequest(service_name="svc-0", page_size=1, page_token=token)
        return (await health.ListInstanceHealth(request)).next_page_token

    async def events(token: str) -> str:
        return (await relay.ListEvents(rpb.ListEventsRequest(page_size=1, page_token=token))).next_page_token

    return {"services": services, "instances": instances, "health": instance_health, "events": events}


async def _refused(call: Awaitable[str]) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert bad_request_fields(refused.value) == ["page_token"]


@pytest.mark.parametrize("method", ["services", "instances", "health", "events"])
async def test_crafted_page_tokens_are_invalid_arguments(lists: dict[str, List], method: str) -> None:
    for name, token in CRAFTED.items():
        try:
            await _refused(lists[method](token))
        except AssertionError as failed:
            raise AssertionError(f"{name}: {failed}") from None


@pytest.mark.parametrize("method", ["services", "instances", "health", "events"])
async def test_a_real_token_works_and_any_change_to_it_is_refused(
    lists: dict[str, List], method: str
) -> None:
    token = await lists[method]("")
    assert token
    assert await lists[method](token) is not None  # the registry's own token pages on
    payload, _, mac = token.partition(".")
    assert payload
    assert mac
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["k"] = ["zzz"] * len(document["k"])
    await _refused(lists[method](f"{_b64(document)}.{mac}"))  # a changed position, old signature
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    await _refused(lists[method](flipped))
    await _refused(lists[method](payload))  # the payload without its signature


async def test_a_token_of_one_list_does_not_page_another(lists: dict[str, List]) -> None:
    token = await lists["services"]("")
    await _refused(lists["instances"](token))


async def test_a_token_survives_a_restart_of_the_same_registry(start_registry: StartRegistry) -> None:
    first = await start_registry()
    async with grpc.aio.insecure_channel(first.address) as ch:
        for n in range(3):
            await register(stub(ch), f"svc-{n}", "i-1")
        page = await stub(ch).ListServices(pb.ListServicesRequest(page_size=1))
    await first.stop(grace=0)
    again = await start_registry()
    async with grpc.aio.insecure_channel(again.address) as ch:
        rest = await stub(ch).ListServices(pb.ListServicesRequest(page_token=page.next_page_token))
    assert [s.service_name for s in rest.services] == ["svc-1", "svc-2"]
