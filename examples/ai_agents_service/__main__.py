"""AI agents service: `python -m examples.ai_agents_service`.

Configured like any service of the integration guides: REGISTRY_URL, SERVICE_ID and
REGISTRY_CREDENTIALS_FILE (its own key) in the environment. It never learns where the CRM runs:
commands reach its Inbox through the registry, and it announces results as events on the registry.

- `@inbox.event("lead.*")`: notes every new lead;
- `@inbox.command("analyze")`: scores the lead, publishes `ai.analysis_completed`, replies the score.

Prints `READY` once registered and subscribed; SIGTERM or SIGINT leave gracefully (goodbye, then
deregister).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from opentelemetry import trace

from client import Inbox, Message, RegistryClient
from examples import tracing

NAME = "ai-agents"


def say(text: str) -> None:
    """One line of the demo's story, tagged with the current trace id."""
    trace_id = trace.get_current_span().get_span_context().trace_id
    print(f"[{NAME}] trace={trace_id:032x} {text}", flush=True)


def score(lead: dict[str, Any]) -> float:
    """A stand-in for the model: bigger budgets and company e-mail addresses score higher."""
    budget = min(float(lead.get("budget", 0)) / 100_000, 1.0)
    company_mail = 0.0 if str(lead.get("email", "")).endswith(("@gmail.com", "@yahoo.com")) else 1.0
    return round(0.3 + 0.5 * budget + 0.2 * company_mail, 2)


def build_inbox(registry: RegistryClient) -> Inbox:
    inbox = Inbox()

    @inbox.event("lead.*")
    async def on_lead(message: Message) -> None:
        say(f"lead={message.json()['id']} saw event {message.name} from {message.source_service}")

    @inbox.command("analyze")
    async def analyze(message: Message) -> dict[str, Any]:
        lead = message.json()
        result = {"lead_id": lead["id"], "score": score(lead)}
        say(f"lead={lead['id']} command analyze from {message.source_service}: score {result['score']}")
        await registry.publish("ai.analysis_completed", result)
        return result

    return inbox


async def main() -> None:
    provider = tracing.install(NAME)  # exports to OTEL_EXPORTER_OTLP_ENDPOINT when it is set
    async with RegistryClient.from_env(degrade=True) as registry:
        inbox = build_inbox(registry)
        await registry.serve_inbox(inbox)
        await registry.register(inbox=inbox, version="1.0.0", heartbeat_interval=1.0)
        await inbox.events_ready()
        print(f"[{NAME}] READY inbox at {inbox.endpoint.address}", flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
    provider.shutdown()
    print(f"[{NAME}] stopped (said goodbye, deregistered)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
