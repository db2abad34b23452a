"""Lookup through a real server: every filter, the zone-first order, statuses and limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.api.convert import InstanceEncoder
from registry.api.lookup_answers import LookupAnswers
from registry.app import Registry
from registry.core.errors import InvalidArgument
from registry.core.model import HealthStatus
from tests.helpers.registry_api import Stub, bad_request_fields, register, stub

FLEET = {
    # id: (version, tags, metadata, zone, weight)
    "a": ("1.0.0", ["blue"], {"team": "core"}, "z1", 100),
    "b": ("1.2.0", ["blue", "canary"], {"team": "core", "tier": "gold"}, "z2", 300),
    "c": ("1.9.9-rc.1", ["green"], {"team": "edge"}, "z1", 300),
    "d": ("2.0.0", ["green", "canary"], {"team": "core"}, "z2", 50),
    "e": ("", [], {}, "", 100),
}


@pytest.fixture
async def api(registry: Registry, channel: grpc.aio.Channel) -> Stub:
    api = stub(channel)
    for instance_id, (version, tags, metadata, zone, weight) in FLEET.items():
        await register(
            api,
            "orders",
            instance_id,
            version=version,
            tags=tags,
            metadata=metadata,
            zone=zone,
            weight=weight,
        )
    await register(api, "payments", "p", version="1.2.0", tags=["blue"])  # must never leak into orders
    return api


async def _ids(api: Stub, **fields: object) -> list[str]:
    response = await api.Lookup(pb.LookupRequest(service_name="orders", **fields))  # type: ignore[arg-type]
    return [i.instance_id for i in response.instances]


async def test_default_order_is_weight_then_id(api: Stub) -> None:
    assert await _ids(api) == ["b", "c", "a", "e", "d"]


async def test_preferred_zone_comes_first_then_the_rest(api: Stub) -> None:
    assert await _ids(api, preferred_zone="z1") == ["c", "a", "b", "e", "d"]
    assert await _ids(api, preferred_zone="z2") == ["b", "d", "c", "a", "e"]
    assert await _ids(api, preferred_zone="nowhere") == ["b", "c", "a", "e", "d"]


async def test_tags_must_all_be_present(api: Stub) -> None:
    assert await _ids(api, tags=["blue"]) == ["b", "a"]
    assert await _ids(api, tags=["canary", "green"]) == ["d"]
    assert await _ids(api, tags=["blue", "green"]) == []


async def test_metadata_pairs_must_all_match(api: Stub) -> None:
    assert await _ids(api, metadata={"team": "core"}) == ["b", "a", "d"]
    assert await _ids(api, metadata={"team": "core", "tier": "gold"}) == ["b"]
    assert await _ids(api, metadata={"team": "gold"}) == []


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (">=1.2,<2", ["b", "c"]),  # 1.9.9-rc.1 is below 2
        ("==1.2", ["b"]),  # missing parts count as 0
        ("!=1.2.0", ["c", "a", "d"]),  # instances without a version never match a constraint
        (">1.9.9-rc.0", ["c", "d"]),  # prerelease identifiers compare field by field
        ("<1.9.9", ["b", "c", "a"]),  # a prerelease sorts before its release
        ("<=1.0.0", ["a"]),
        ("~=1.2", ["b", "c"]),  # >=1.2, <2
        ("~=1.2.0", ["b"]),  # >=1.2.0, <1.3
        (" >= 2 ", ["d"]),  # spaces around clauses are fine
    ],
)
async def test_version_constraints(api: Stub, constraint: str, expected: list[str]) -> None:
    assert await _ids(api, version_constraint=constraint) == expected


@pytest.mark.parametrize("constraint", ["1.2", ">=1.x", ">=1.2,", "~=1", "=>1", ">=1.2 <2", ">=1.2-rc"])
async def test_malformed_constraint_is_refused(api: Stub, constraint: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _ids(api, version_constraint=constraint)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(error.value) == ["version_constraint"]


async def test_serving_statuses_by_default_and_any_on_request(registry: Registry, api: Stub) -> None:
    statuses = {
        "a": HealthStatus.HEALTHY,
        "b": HealthStatus.DEGRADED,
        "c": HealthStatus.CRITICAL,
        "d": HealthStatus.DEAD,
        "e": HealthStatus.DRAINING,
    }
    for instance_id, status in statuses.items():
        registry.catalog.set_status(("orders", instance_id), status)
    await register(api, "orders", "f")  # stays UNKNOWN: served, so a restart never empties discovery

    assert await _ids(api) == ["b", "a", "f"]
    assert await _ids(api, statuses=[ipb.HEALTH_STATUS_DEAD, ipb.HEALTH_STATUS_DRAINING]) == ["e", "d"]
    assert await _ids(api, statuses=[ipb.HEALTH_STATUS_CRITICAL]) == ["c"]


async def test_limit_cuts_after_ordering(api: Stub) -> None:
    assert await _ids(api, limit=2) == ["b", "c"]
    assert await _ids(api, limit=2, preferred_zone="z2") == ["b", "d"]
    assert await _ids(api, limit=0) == ["b", "c", "a", "e", "d"]


async def test_filters_combine(api: Stub) -> None:
    found = await _ids(
        api, tags=["canary"], metadata={"team": "core"}, version_constraint=">=1.5", preferred_zone="z1"
    )
    assert found == ["d"]


async def test_unknown_service_is_empty_with_the_revision(api: Stub) -> None:
    response = await api.Lookup(pb.LookupRequest(service_name="inventory"))
    listed = await api.ListServices(pb.ListServicesRequest())

    assert list(response.instances) == []
    assert response.revision == listed.revision > 0


async def test_answers_reflect_changes_at_once(registry: Registry, api: Stub) -> None:
    await register(api, "orders", "b", version="1.2.0", tags=["blue"], zone="z2", weight=1000)
    registry.catalog.set_status(("orders", "a"), HealthStatus.CRITICAL)
    await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="c"))

    assert await _ids(api) == ["b", "e", "d"]
    assert await _ids(api, tags=["canary"]) == ["d"]  # b's new registration dropped the tag


SERVING = [ipb.HEALTH_STATUS_UNKNOWN, ipb.HEALTH_STATUS_HEALTHY, ipb.HEALTH_STATUS_DEGRADED]


async def test_unfiltered_answers_follow_every_change(registry: Registry, api: Stub) -> None:
    """An unfiltered Lookup is answered from bytes kept until the catalog changes; after each kind
    of change it is what the filtered path computes afresh (the default statuses, asked for)."""

    async def both() -> tuple[pb.LookupResponse, pb.LookupResponse]:
        kept = await api.Lookup(pb.LookupRequest(service_name="orders"))
        fresh = await api.Lookup(pb.LookupRequest(service_name="orders", statuses=SERVING))
        return kept, fresh

    changes: list[Callable[[], Awaitable[object]]] = [
        lambda: register(api, "orders", "b", version="1.2.0", zone="z2", weight=1000),
        lambda: register(api, "orders", "g", weight=200),
        lambda: api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="c")),
        lambda: register(api, "payments", "q"),  # another service: the revision moves all the same
    ]
    kept, fresh = await both()
    assert kept == fresh
    revision = kept.revision
    for change in changes:
        await change()
        kept, fresh = await both()
        assert kept == fresh
        assert kept.revision > revision
        revision = kept.revision
    registry.catalog.set_status(("orders", "a"), HealthStatus.CRITICAL)
    kept, fresh = await both()
    assert kept == fresh
    assert [i.instance_id for i in kept.instances] == ["b", "g", "e", "d"]


async def test_made_up_service_names_do_not_grow_the_kept_answers(registry: Registry, api: Stub) -> None:
    answers = LookupAnswers(registry.catalog, InstanceEncoder())
    for n in range(200):
        assert pb.LookupResponse.FromString(answers.serving(f"nothing-{n}")).instances == []
    assert len(pb.LookupResponse.FromString(answers.serving("orders")).instances) == 5
    assert len(answers) == 1
    with pytest.raises(InvalidArgument):
        answers.serving("not a name")
