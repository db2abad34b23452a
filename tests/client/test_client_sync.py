"""The synchronous facade, used the way a Django or Flask service would: plain functions, no event
loop in sight, against a registry running as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client import HealthStatus, Inbox, Message, SyncRegistryClient
from generated.registry.v1 import envelope_pb2, inbox_service_pb2, inbox_service_pb2_grpc
from tests.client.conftest import FAST_BEATS, client_config
from tests.helpers.process import ServerProcess, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path / "registry.db", "--startup-grace-seconds", "0") as process:
        yield process


def test_the_sync_client_does_everything_the_async_one_does(server: ServerProcess) -> None:
    ai = SyncRegistryClient(client_config(server.address, "ai-agents", instance_id="ai-1"))
    crm = SyncRegistryClient(client_config(server.address, "crm"))
    try:
        inbox = Inbox()

        @inbox.command("analyze")
        def analyze(message: Message) -> dict[str, float]:  # plain blocking code, as in Django
            return {"score": 0.25 * len(message.json()["tags"])}

        ai.serve_inbox(inbox)
        registration = ai.register(inbox=inbox, **FAST_BEATS)
        assert registration.wait_for_status(timeout=3) is HealthStatus.HEALTHY
        assert [i.instance_id for i in crm.resolve("ai-agents")] == ["ai-1"]

        assert crm.send("ai-agents", "analyze", {"tags": ["a", "b"]}).json() == {"score": 0.5}

        events = crm.subscribe("crm.lead.#")
        events.wait_started(timeout=3)
        published = crm.publish("crm.lead.created", {"id": 7})
        assert published
        event = events.next(timeout=3)
        assert (event.name, event.json(), event.sequence) == (
            "crm.lead.created",
            {"id": 7},
            published.sequence,
        )
        with pytest.raises(TimeoutError):
            events.next(timeout=0.1)
        events.close()

        inbox.verify = False  # the direct call below does not come through the relay
        stub = inbox_service_pb2_grpc.InboxServiceStub(crm.channel("ai-agents"))  # a plain sync stub
        envelope = envelope_pb2.Envelope(
            id="m1", type=envelope_pb2.MESSAGE_TYPE_COMMAND, name="analyze", payload=b'{"tags": ["x"]}'
        )
        response = stub.Deliver(inbox_service_pb2.DeliverRequest(envelope=envelope))
        assert response.reply.payload == b'{"score":0.25}'

        ai.close()  # goodbye, deregister, stop the inbox and the thread
        assert crm.resolve("ai-agents") == []
    finally:
        crm.close()
