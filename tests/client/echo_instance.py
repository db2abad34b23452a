"""A real service process for the SDK tests: an Inbox answering `whoami`, registered with the SDK.

Run as `python -m tests.client.echo_instance REGISTRY_ADDRESS SERVICE INSTANCE_ID`; prints
`READY <port>` once the registry reports it healthy, then serves until killed. Deliveries are not
token-checked (`verify=False`) because the tests call its Inbox directly through a ServiceChannel.
"""

from __future__ import annotations

import asyncio
import sys

from client import ClientConfig, Inbox, Message, RegistryClient


async def main(address: str, service: str, instance_id: str) -> None:
    config = ClientConfig(
        registry_url=address,
        service_name=service,
        instance_id=instance_id,
        backoff_base=0.02,
        backoff_cap=0.2,
    )
    async with RegistryClient(config) as registry:
        inbox = Inbox(service, verify=False)

        @inbox.query("whoami")
        async def whoami(message: Message) -> str:
            return instance_id

        await registry.serve_inbox(inbox)
        registration = await registry.register(inbox=inbox, heartbeat_interval=0.05, heartbeat_timeout=0.5)
        await registration.wait_for_status()
        print(f"READY {inbox.port}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
