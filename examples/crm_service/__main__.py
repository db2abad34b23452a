"""CRM service: `python -m examples.crm_service [LEADS]`.

Written the synchronous way a Django or Flask CRM is (002 shows one), with `SyncRegistryClient`:
the SDK runs on a background thread, the code below just calls it. For each new lead it

1. publishes `lead.created` (anyone interested hears about it),
2. sends the command `analyze` to `ai-agents` (by name: the registry picks a healthy instance) and
   prints the score from the reply,
3. hears `ai.analysis_completed` on its subscription.

All three happen inside one span, so every line printed for a lead, here and in ai-agents, carries
the same trace id: the SDK propagates the context through the registry. Configuration comes from
REGISTRY_URL, SERVICE_ID and REGISTRY_CREDENTIALS_FILE (its own key; or SERVICE_NAME and
JWT_SECRET, as the integration guides set them).
"""

from __future__ import annotations

import sys
from typing import Any

from opentelemetry import trace

from client import Endpoint, Message, Protocol, SyncRegistryClient
from examples import tracing

NAME = "crm"
LEADS: list[dict[str, Any]] = [
    {"id": 1, "name": "Ada Lovelace", "email": "ada@analytical.example", "budget": 120_000},
    {"id": 2, "name": "Grace Hopper", "email": "grace@gmail.com", "budget": 30_000},
    {"id": 3, "name": "Alan Turing", "email": "alan@bletchley.example", "budget": 60_000},
]


def say(trace_id: str, text: str) -> None:
    print(f"[{NAME}] trace={trace_id} {text}", flush=True)


def create_lead(registry: SyncRegistryClient, lead: dict[str, Any]) -> str:
    """The view a Django CRM would run on "new lead"; returns the trace id of its span."""
    with trace.get_tracer(NAME).start_as_current_span("create lead") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        say(trace_id, f"lead={lead['id']} created {lead['name']}")
        published = registry.publish("lead.created", lead)
        say(
            trace_id, f"lead={lead['id']} published lead.created as event #{published and published.sequence}"
        )
        reply = registry.send("ai-agents", "analyze", lead)
        say(trace_id, f"lead={lead['id']} ai-agents ({reply.instance_id}) scored it {reply.json()['score']}")
    return trace_id


def main(count: int) -> None:
    provider = tracing.install(NAME)  # exports to OTEL_EXPORTER_OTLP_ENDPOINT when it is set
    registry = SyncRegistryClient.from_env(degrade=True)
    try:
        registry.register(Endpoint("127.0.0.1", 8000, Protocol.HTTP, "http"), version="2.4.0")
        results = registry.subscribe("ai.*")
        results.wait_started(timeout=5)
        for lead in LEADS[:count]:
            create_lead(registry, lead)
            event: Message = results.next(timeout=5)
            say(
                event.trace_id,
                f"lead={event.json()['lead_id']} heard {event.name} from {event.source_service}",
            )
        results.close()
    finally:
        registry.close()
        provider.shutdown()
    print(f"[{NAME}] done (said goodbye, deregistered)", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
