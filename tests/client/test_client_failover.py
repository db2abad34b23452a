"""A ServiceChannel over real instance processes: calls spread over the instances, and when one is
SIGKILLed the picker stops choosing it and calls keep succeeding on the others."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from client import Filters, HealthStatus
from generated.registry.v1 import envelope_pb2, inbox_service_pb2, inbox_service_pb2_grpc
from registry.app import Registry
from tests.client.conftest import Connect
from tests.conftest import StartRegistry

ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def instance_process(
    address: str, service: str, instance_id: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`tests/client/echo_instance.py` as a child process, ready (registered, healthy) on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.client.echo_instance",
        address,
        service,
        instance_id,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(15):
            line = await proc.stdout.readline()
        assert line.startswith(b"READY"), line
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def whoami() -> inbox_service_pb2.DeliverRequest:
    return inbox_service_pb2.DeliverRequest(
        envelope=envelope_pb2.Envelope(id="m", type=envelope_pb2.MESSAGE_TYPE_QUERY, name="whoami")
    )


async def test_channel_fails_over_when_an_instance_is_killed(
    start_registry: StartRegistry, connect: Connect, registry: Registry
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        procs = {
            name: await stack.enter_async_context(instance_process(registry.address, "echo", name))
            for name in ("echo-1", "echo-2", "echo-3")
        }
        caller = await connect("caller")
        channel = await caller.channel("echo")
        inbox = inbox_service_pb2_grpc.InboxServiceStub(channel)

        answered = [(await inbox.Deliver(whoami())).reply.payload.decode() for _ in range(30)]
        assert sorted(set(answered)) == ["echo-1", "echo-2", "echo-3"]

        killed_at = time.monotonic()
        procs["echo-2"].send_signal(signal.SIGKILL)
        view = caller.discovery.view("echo")
        async with asyncio.timeout(5):
            while view.instances["echo-2"].serving:  # DEGRADED (a missed beat) is still served
                await asyncio.sleep(0.005)
        noticed = time.monotonic() - killed_at

        answered = [(await inbox.Deliver(whoami())).reply.payload.decode() for _ in range(30)]
        assert sorted(set(answered)) == ["echo-1", "echo-3"]
        assert [i.instance_id for i in channel.candidates()] == ["echo-1", "echo-3"]
        assert [i.instance_id for i in await caller.resolve("echo")] == ["echo-1", "echo-3"]
        assert view.instances["echo-2"].status is HealthStatus.CRITICAL
        assert noticed < 1.0, f"the registry took {noticed:.3f}s to take the killed instance out"


async def test_a_failed_call_ejects_the_instance_before_the_registry_notices(
    connect: Connect, registry: Registry
) -> None:
    """An instance whose process is frozen (SIGSTOP: the socket stays open, the registry sees
    nothing for a while) costs at most one failed call before the channel avoids it."""
    async with contextlib.AsyncExitStack() as stack:
        procs = {
            name: await stack.enter_async_context(instance_process(registry.address, "echo", name))
            for name in ("echo-1", "echo-2")
        }
        caller = await connect("caller", call_timeout=0.3)
        channel = await caller.channel("echo", filters=Filters(statuses=frozenset(HealthStatus)))
        inbox = inbox_service_pb2_grpc.InboxServiceStub(channel)
        assert {(await inbox.Deliver(whoami())).reply.payload.decode() for _ in range(4)} == {
            "echo-1",
            "echo-2",
        }

        procs["echo-1"].send_signal(signal.SIGSTOP)
        try:
            outcomes = []
            for _ in range(10):
                try:
                    outcomes.append((await inbox.Deliver(whoami(), timeout=0.3)).reply.payload.decode())
                except Exception as error:  # the one call that hit the frozen instance
                    outcomes.append(type(error).__name__)
        finally:
            procs["echo-1"].send_signal(signal.SIGCONT)
        assert outcomes.count("echo-2") >= 9, outcomes
