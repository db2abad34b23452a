"""The Go load generator (bench/loadgen) the capacity and registration benchmarks run, against a
real registry at a tiny scale, so it cannot rot between benchmark runs: it builds (cached in
~/.cache after the first build), opens registered and bound heartbeat streams, times their acks,
and registers instances, speaking the line protocol the bench drivers read."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import grpc
import pytest

from bench.harness import child
from bench.heartbeats import ECHO_READY
from bench.loadgen_build import loadgen
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from tests.helpers.process import ServerProcess, running_server


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("loadgen") / "registry.db") as server:
        yield server


def _drive(args: list[str], timeout: float = 60) -> tuple[str, dict[str, float]]:
    """Run the generator to its `ready` line, start the measurement, return both lines."""
    proc = subprocess.Popen(
        [str(loadgen()), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = proc.stdout.readline()
        assert result, proc.stderr.read() if proc.stderr else ""
        return ready, json.loads(result)
    finally:
        proc.kill()
        proc.wait(timeout)


def test_heartbeat_streams_are_registered_bound_and_acked(registry: ServerProcess) -> None:
    ready, result = _drive(["beat", "-opening=4", registry.address, "registry", "0", "10", "0.1", "1"])
    words = ready.split()
    assert words[:2] == ["ready", "10"]
    assert float(words[2]) > 0
    assert result["binds"] >= 10
    assert result["acks"] > 0
    assert 0 < result["p50"] <= result["p99"]
    with grpc.insecure_channel(registry.address) as channel:
        found = pb_grpc.RegistryServiceStub(channel).Lookup(
            pb.LookupRequest(service_name="bench"), timeout=10
        )
    registered = {i.instance_id: i.heartbeat_policy for i in found.instances}
    assert {f"bench-{n}" for n in range(10)} <= registered.keys()
    policy = registered["bench-0"]
    assert (policy.interval.ToMilliseconds(), policy.timeout.ToMilliseconds()) == (100, 1000)


def test_registrations_are_counted_with_their_latency(registry: ServerProcess) -> None:
    ready, result = _drive(["register", registry.address, "registry", "4", "0.5", "1000"])
    assert ready.split()[:2] == ["ready", "4"]
    assert result["count"] > 0
    assert result["elapsed"] >= 0.5
    assert 0 < result["p50"] <= result["p99"]
    with grpc.insecure_channel(registry.address) as channel:
        stub = pb_grpc.RegistryServiceStub(channel)
        found = stub.Lookup(pb.LookupRequest(service_name="bench"), timeout=10)
    ids = {i.instance_id for i in found.instances}
    made = int(result["count"]) + 4  # one warm-up call per caller came first
    assert {f"bench-{n}" for n in range(1000, 1000 + made)} <= ids


def test_the_echo_floor_is_driven_the_same_way() -> None:
    with child(["-m", "bench.echo_server"], ECHO_READY) as echo:
        ready, beats = _drive(["beat", echo.address, "echo", "0", "5", "0.1", "1"])
        assert ready.split()[:2] == ["ready", "5"]
        assert beats["acks"] > 0
        assert beats["binds"] == 0
        _, calls = _drive(["register", echo.address, "echo", "2", "0.3", "0"])
        assert calls["count"] > 0
