"""Every validation rule, through a real server: a bad input is INVALID_ARGUMENT whose BadRequest
detail names the offending field, and the catalog is left exactly as it was."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.core.limits import LIMITS
from tests.helpers.registry_api import (
    Stub,
    bad_request_fields,
    endpoint,
    error_info,
    instance,
    register,
    stub,
)


def _ms(milliseconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=milliseconds // 1000, nanos=milliseconds % 1000 * 1_000_000)


def _policy(**fields: Any) -> ipb.HeartbeatPolicy:
    return ipb.HeartbeatPolicy(**fields)


def _dependency(name: str = "payments", kind: int = ipb.DEPENDENCY_KIND_HARD) -> ipb.Dependency:
    return ipb.Dependency(service_name=name, kind=kind)  # type: ignore[arg-type]


BAD_INSTANCES: dict[str, tuple[dict[str, Any], str]] = {
    # case: (fields of the instance, the field the error must name)
    "service name missing": ({"service_name": ""}, "instance.service_name"),
    "service name upper case": ({"service_name": "Orders"}, "instance.service_name"),
    "service name starts with digit": ({"service_name": "1orders"}, "instance.service_name"),
    "service name ends with dash": ({"service_name": "orders-"}, "instance.service_name"),
    "service name underscore": ({"service_name": "my_orders"}, "instance.service_name"),
    "service name too long": ({"service_name": "a" * 64}, "instance.service_name"),
    "instance id missing": ({"instance_id": ""}, "instance.instance_id"),
    "instance id starts with dash": ({"instance_id": "-x"}, "instance.instance_id"),
    "instance id ends with dot": ({"instance_id": "x."}, "instance.instance_id"),
    "instance id with space": ({"instance_id": "a b"}, "instance.instance_id"),
    "instance id too long": ({"instance_id": "a" * 129}, "instance.instance_id"),
    "no endpoints": ({"endpoints": []}, "instance.endpoints"),
    "too many endpoints": (
        {"endpoints": [endpoint(9000 + n, name=f"e{n}") for n in range(17)]},
        "instance.endpoints",
    ),
    "host missing": ({"endpoints": [endpoint(host="")]}, "instance.endpoints[0].host"),
    "host too long": ({"endpoints": [endpoint(host="a." * 126 + "ab")]}, "instance.endpoints[0].host"),
    "host malformed": ({"endpoints": [endpoint(host="bad host!")]}, "instance.endpoints[0].host"),
    "port zero": ({"endpoints": [endpoint(), endpoint(0, name="b")]}, "instance.endpoints[1].port"),
    "port too high": ({"endpoints": [endpoint(65536)]}, "instance.endpoints[0].port"),
    "protocol unspecified": ({"endpoints": [endpoint(protocol=0)]}, "instance.endpoints[0].protocol"),
    "protocol unknown": ({"endpoints": [endpoint(protocol=99)]}, "instance.endpoints[0].protocol"),
    "endpoint names clash": ({"endpoints": [endpoint(9000), endpoint(9001)]}, "instance.endpoints[1].name"),
    "endpoint name malformed": ({"endpoints": [endpoint(name="Admin!")]}, "instance.endpoints[0].name"),
    "version partial": ({"version": "1.2"}, "instance.version"),
    "version junk": ({"version": "latest"}, "instance.version"),
    "version too long": ({"version": "1.2.3-" + "a" * 60}, "instance.version"),
    "version leading zero": ({"version": "01.2.3"}, "instance.version"),
    "version leading zero in patch": ({"version": "1.2.03"}, "instance.version"),
    "prerelease leading zero": ({"version": "1.2.3-01"}, "instance.version"),
    "prerelease leading zero later": ({"version": "1.2.3-rc.01"}, "instance.version"),
    "too many tags": ({"tags": [f"t{n}" for n in range(33)]}, "instance.tags"),
    "tag malformed": ({"tags": ["ok", "not ok"]}, "instance.tags[1]"),
    "tag empty": ({"tags": [""]}, "instance.tags[0]"),
    "tag too long": ({"tags": ["t" * 64]}, "instance.tags[0]"),
    "too many metadata entries": ({"metadata": {f"k{n}": "v" for n in range(65)}}, "instance.metadata"),
    "metadata key malformed": ({"metadata": {"a b": "v"}}, "instance.metadata['a b']"),
    "metadata key too long": ({"metadata": {"k" * 64: "v"}}, f"instance.metadata['{'k' * 64}']"),
    "metadata value too big": ({"metadata": {"k": "é" * 257}}, "instance.metadata['k']"),
    "metadata too big in all": ({"metadata": {f"k{n}": "v" * 500 for n in range(40)}}, "instance.metadata"),
    "zone upper case": ({"zone": "EU-1"}, "instance.zone"),
    "zone too long": ({"zone": "z" * 64}, "instance.zone"),
    "weight too high": ({"weight": 1001}, "instance.weight"),
    "too many dependencies": (
        {"dependencies": [_dependency(f"dep-{n}") for n in range(65)]},
        "instance.dependencies",
    ),
    "dependency listed twice": (
        {"dependencies": [_dependency(), _dependency()]},
        "instance.dependencies[1].service_name",
    ),
    "dependency name malformed": (
        {"dependencies": [_dependency("Pay")]},
        "instance.dependencies[0].service_name",
    ),
    "dependency kind unspecified": ({"dependencies": [_dependency(kind=0)]}, "instance.dependencies[0].kind"),
    "dependency kind unknown": ({"dependencies": [_dependency(kind=99)]}, "instance.dependencies[0].kind"),
    "interval too short": (
        {"heartbeat_policy": _policy(interval=_ms(9))},
        "instance.heartbeat_policy.interval",
    ),
    "interval too long": (
        {"heartbeat_policy": _policy(interval=_ms(3_600_001), timeout=_ms(7_200_000))},
        "instance.heartbeat_policy.interval",
    ),
    "timeout below interval": (
        {"heartbeat_policy": _policy(interval=_ms(5000), timeout=_ms(4999))},
        "instance.heartbeat_policy.timeout",
    ),
    "default timeout below interval": (
        {"heartbeat_policy": _policy(interval=_ms(60_000))},
        "instance.heartbeat_policy.timeout",
    ),
    "timeout too long": (
        {"heartbeat_policy": _policy(timeout=_ms(86_400_001))},
        "instance.heartbeat_policy.timeout",
    ),
    "max failures too high": (
        {"heartbeat_policy": _policy(max_failures=101)},
        "instance.heartbeat_policy.max_failures",
    ),
}


async def _state(api: Stub) -> tuple[int, list[ipb.Instance]]:
    listed = await api.ListInstances(pb.ListInstancesRequest(page_size=1000))
    return listed.revision, list(listed.instances)


async def _refused(call: Any) -> list[str]:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return bad_request_fields(error.value)


@pytest.mark.parametrize(("fields", "field"), BAD_INSTANCES.values(), ids=BAD_INSTANCES.keys())
async def test_bad_registration_is_refused_naming_the_field(
    channel: grpc.aio.Channel, fields: dict[str, Any], field: str
) -> None:
    api = stub(channel)
    await register(api, "orders", "orders-1", version="1.0.0")
    before = await _state(api)
    bad = instance("orders", "orders-1", **{"version": "1.0.0", **fields})

    assert await _refused(api.Register(pb.RegisterRequest(instance=bad))) == [field]
    assert await _state(api) == before


async def test_instance_is_required(channel: grpc.aio.Channel) -> None:
    assert await _refused(stub(channel).Register(pb.RegisterRequest())) == ["instance"]


async def test_values_at_the_limits_are_accepted(channel: grpc.aio.Channel) -> None:
    many_endpoints = [endpoint(1 + n, name=f"e{n}") for n in range(LIMITS.endpoints - 1)] + [endpoint(65535)]
    response = await register(
        stub(channel),
        "a" * LIMITS.service_name_length,
        "A1._-" + "x" * (LIMITS.instance_id_length - 5),
        endpoints=many_endpoints,
        version="10.20.30-rc.1.x-y",
        tags=[f"t{n}" for n in range(LIMITS.tags - 1)] + ["A-z_0.9:/x" + "t" * 53],
        metadata={f"k{n}": "v" * 200 for n in range(LIMITS.metadata_entries - 1)} | {"K._/-" + "k" * 58: ""},
        zone="z" * LIMITS.zone_length,
        weight=LIMITS.weight_max,
        dependencies=[_dependency(f"dep-{n}") for n in range(LIMITS.dependencies)],
        heartbeat_policy=_policy(interval=_ms(10), timeout=_ms(86_400_000), max_failures=100),
    )
    hosts = ["::1", "[2001:db8::1]", "10.1.2.3", "my_service.internal.", "localhost", "a" * 63 + ".b"]
    for n, host in enumerate(hosts):
        await register(stub(channel), "hosts", f"h{n}", endpoints=[endpoint(host=host)])

    assert response.created
    assert len(response.instance.dependencies) == LIMITS.dependencies


BAD_LOOKUPS: dict[str, tuple[dict[str, Any], str]] = {
    "service name missing": ({"service_name": ""}, "service_name"),
    "service name malformed": ({"service_name": "Orders"}, "service_name"),
    "too many tags": ({"tags": [f"t{n}" for n in range(33)]}, "tags"),
    "tag malformed": ({"tags": ["a b"]}, "tags[0]"),
    "too many metadata pairs": ({"metadata": {f"k{n}": "v" for n in range(33)}}, "metadata"),
    "metadata key malformed": ({"metadata": {"a b": "v"}}, "metadata['a b']"),
    "constraint malformed": ({"version_constraint": ">=1.x"}, "version_constraint"),
    "constraint leading zero": ({"version_constraint": ">=01.2"}, "version_constraint"),
    "constraint too long": ({"version_constraint": ",".join([">=1.0.0"] * 40)}, "version_constraint"),
    "zone malformed": ({"preferred_zone": "Z"}, "preferred_zone"),
    "status unspecified": ({"statuses": [ipb.HEALTH_STATUS_HEALTHY, 0]}, "statuses[1]"),
    "status unknown": ({"statuses": [42]}, "statuses[0]"),
    "negative limit": ({"limit": -1}, "limit"),
    "limit too high": ({"limit": 1001}, "limit"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_LOOKUPS.values(), ids=BAD_LOOKUPS.keys())
async def test_bad_lookup_is_refused_naming_the_field(
    channel: grpc.aio.Channel, fields: dict[str, Any], field: str
) -> None:
    request = pb.LookupRequest(**{"service_name": "orders", **fields})
    assert await _refused(stub(channel).Lookup(request)) == [field]


BAD_KEYS: dict[str, tuple[dict[str, str], str]] = {
    "service name missing": ({"service_name": "", "instance_id": "x"}, "service_name"),
    "service name malformed": ({"service_name": "A", "instance_id": "x"}, "service_name"),
    "instance id missing": ({"service_name": "orders", "instance_id": ""}, "instance_id"),
}


@pytest.mark.parametrize("method", ["GetInstance", "Deregister"])
@pytest.mark.parametrize(("fields", "field"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
async def test_bad_instance_key_is_refused(
    channel: grpc.aio.Channel, method: str, fields: dict[str, str], field: str
) -> None:
    request = getattr(pb, f"{method}Request")(**fields)
    assert await _refused(getattr(stub(channel), method)(request)) == [field]


BAD_WATCHES: dict[str, tuple[dict[str, Any], str]] = {
    "service name malformed": ({"service_names": ["orders", "Bad"]}, "service_names[1]"),
    "too many services": ({"service_names": [f"s{n}" for n in range(65)]}, "service_names"),
    "negative revision": ({"after_revision": -1}, "after_revision"),
    "progress too often": ({"progress_interval_ms": 99}, "progress_interval_ms"),
    "progress negative": ({"progress_interval_ms": -5}, "progress_interval_ms"),
    "progress too rare": ({"progress_interval_ms": 3_600_001}, "progress_interval_ms"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_WATCHES.values(), ids=BAD_WATCHES.keys())
async def test_bad_watch_is_refused(channel: grpc.aio.Channel, fields: dict[str, Any], field: str) -> None:
    call = stub(channel).Watch(pb.WatchRequest(**fields))
    assert await _refused(call.read()) == [field]


async def test_huge_bad_value_is_still_a_clean_invalid_argument(channel: grpc.aio.Channel) -> None:
    # The error echoes the value cut short, so the status fits in the trailers.
    bad = instance(tags=["x" * 200_000 + " "])
    fields = await _refused(stub(channel).Register(pb.RegisterRequest(instance=bad)))
    assert fields == ["instance.tags[0]"]


async def test_a_field_over_its_bound_names_the_bound_in_the_error_info(channel: grpc.aio.Channel) -> None:
    """AIP-193: the value a client can act on travels in the ErrorInfo metadata, not only the text."""
    bad = instance("orders", "orders-1", tags=[f"t{n}" for n in range(LIMITS.tags + 8)])
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub(channel).Register(pb.RegisterRequest(instance=bad))
    assert dict(error_info(error.value).metadata) == {"field": "instance.tags", "limit": str(LIMITS.tags)}
