"""ListServices and ListInstances: keyset pages, tokens bound to their request, AIP-158 sizes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import grpc
import pytest

from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from registry.core.model import HealthStatus
from tests.helpers.registry_api import Stub, bad_request_fields, register, stub


async def _fleet(api: Stub, services: int, per_service: int) -> None:
    await asyncio.gather(
        *(register(api, f"svc-{s:02d}", f"i-{i:03d}") for s in range(services) for i in range(per_service))
    )


async def _all_service_pages(api: Stub, page_size: int) -> list[list[str]]:
    pages, token = [], ""
    while True:
        page = await api.ListServices(pb.ListServicesRequest(page_size=page_size, page_token=token))
        pages.append([s.service_name for s in page.services])
        token = page.next_page_token
        if not token:
            return pages


async def _all_instance_pages(api: Stub, page_size: int, service: str = "") -> list[list[tuple[str, str]]]:
    pages, token = [], ""
    while True:
        request = pb.ListInstancesRequest(service_name=service, page_size=page_size, page_token=token)
        page = await api.ListInstances(request)
        pages.append([(i.service_name, i.instance_id) for i in page.instances])
        token = page.next_page_token
        if not token:
            return pages


async def test_services_page_in_name_order_with_counts(registry: Registry, channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=25, per_service=2)
    registry.catalog.set_status(("svc-03", "i-000"), HealthStatus.DEAD)

    pages = await _all_service_pages(api, page_size=10)
    first = await api.ListServices(pb.ListServicesRequest(page_size=10))

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [name for page in pages for name in page] == [f"svc-{s:02d}" for s in range(25)]
    counts = {s.service_name: (s.instance_count, s.serving_count) for s in first.services}
    assert counts["svc-03"] == (2, 1)
    assert counts["svc-04"] == (2, 2)
    assert first.revision == 50 + 1


async def test_instances_of_all_services_page_in_key_order(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=4, per_service=7)

    pages = await _all_instance_pages(api, page_size=5)

    assert [len(p) for p in pages] == [5, 5, 5, 5, 5, 3]
    flat = [key for page in pages for key in page]
    assert flat == sorted(flat)
    assert len(set(flat)) == 28


async def test_instances_of_one_service(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=3, per_service=4)

    pages = await _all_instance_pages(api, page_size=3, service="svc-01")
    empty = await api.ListInstances(pb.ListInstancesRequest(service_name="nothing-here"))

    assert pages == [[("svc-01", "i-000"), ("svc-01", "i-001"), ("svc-01", "i-002")], [("svc-01", "i-003")]]
    assert (list(empty.instances), empty.next_page_token) == ([], "")


async def test_pages_stay_exact_while_instances_come_and_go(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=1, per_service=6)
    first = await api.ListInstances(pb.ListInstancesRequest(page_size=3))

    # Behind the cursor (never shown now), ahead of it (shown), and the cursor itself removed.
    await register(api, "svc-00", "i-000a")
    await register(api, "svc-00", "i-004a")
    await api.Deregister(pb.DeregisterRequest(service_name="svc-00", instance_id="i-002"))
    second = await api.ListInstances(pb.ListInstancesRequest(page_size=3, page_token=first.next_page_token))

    assert [i.instance_id for i in first.instances] == ["i-000", "i-001", "i-002"]
    assert [i.instance_id for i in second.instances] == ["i-003", "i-004", "i-004a"]
    assert second.next_page_token != ""


async def test_page_size_defaults_and_caps(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=1, per_service=120)

    default = await api.ListInstances(pb.ListInstancesRequest())
    huge = await api.ListInstances(pb.ListInstancesRequest(page_size=1_000_000))

    assert len(default.instances) == 100
    assert default.next_page_token
    assert len(huge.instances) == 120
    assert huge.next_page_token == ""


@pytest.mark.parametrize("method", ["ListServices", "ListInstances"])
async def test_negative_page_size_is_refused(channel: grpc.aio.Channel, method: str) -> None:
    request = getattr(pb, f"{method}Request")(page_size=-1)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(stub(channel), method)(request)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error.value) == ["page_size"]


async def test_token_only_fits_the_request_that_made_it(channel: grpc.aio.Channel) -> None:
    api = stub(channel)
    await _fleet(api, services=3, per_service=3)
    of_one = await api.ListInstances(pb.ListInstancesRequest(service_name="svc-00", page_size=1))
    of_all = await api.ListInstances(pb.ListInstancesRequest(page_size=1))
    of_services = await api.ListServices(pb.ListServicesRequest(page_size=1))

    wrong: list[Awaitable[object]] = [
        api.ListInstances(pb.ListInstancesRequest(service_name="svc-01", page_token=of_one.next_page_token)),
        api.ListInstances(pb.ListInstancesRequest(page_token=of_one.next_page_token)),
        api.ListInstances(pb.ListInstancesRequest(service_name="svc-00", page_token=of_all.next_page_token)),
        api.ListInstances(pb.ListInstancesRequest(page_token=of_services.next_page_token)),
        api.ListServices(pb.ListServicesRequest(page_token=of_all.next_page_token)),
        api.ListServices(pb.ListServicesRequest(page_token="not a token")),
        api.ListServices(pb.ListServicesRequest(page_token="e30")),  # base64 of {}
    ]
    for call in wrong:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request_fields(error.value) == ["page_token"]

    # A different page size is fine (AIP-158): only the other fields must match.
    resumed = await api.ListInstances(
        pb.ListInstancesRequest(page_size=50, page_token=of_all.next_page_token)
    )
    assert len(resumed.instances) == 8
