"""A real service instance for the console's browser tests, built on the client SDK.

    python -m tests.console.instance REGISTRY_URL SERVICE INSTANCE_ID [DEPENDENCY:KIND ...]

JWT_SECRET comes from the environment. It serves an Inbox (command `ping`), registers with a
0.5 s heartbeat and prints `ready`. On stdin it takes `send SERVICE` (relays `ping` to that
service, prints `sent SERVICE`) and `publish TOPIC TENANT` (prints `published SEQUENCE TRACE_ID`).
When the registry tells its heartbeat stream to drain it prints `drain`. Tests SIGKILL it.
"""

from __future__ import annotations

import asyncio
import sys

from client import ClientConfig, Dependency, DependencyKind, Inbox, Message, RegistryClient


async def main(url: str, service: str, instance_id: str, dependencies: list[str]) -> None:
    config = ClientConfig.from_env(registry_url=url, service_name=service, instance_id=instance_id)
    async with RegistryClient(config) as registry:
        inbox = Inbox()

        @inbox.command("ping")
        async def ping(message: Message) -> dict[str, str]:
            return {"pong": instance_id}

        await registry.serve_inbox(inbox)
        await registry.register(
            inbox=inbox,
            version="1.4.2",
            zone="eu-1",
            tags=["console-test"],
            metadata={"team": "ops"},
            dependencies=[
                Dependency(name, DependencyKind[kind.upper()])
                for name, kind in (d.split(":") for d in dependencies)
            ],
            heartbeat_interval=0.5,
            heartbeat_timeout=3.0,
            on_drain=lambda: print("drain", flush=True),
        )
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            words = line.split()
            if words[0] == "send":
                await registry.send(words[1], "ping", {"from": instance_id})
                print("sent", words[1], flush=True)
            elif words[0] == "publish":
                published = await registry.publish(words[1], {"from": instance_id}, tenant_id=words[2])
                assert published
                print("published", published.sequence, published.trace_id, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
