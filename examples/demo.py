"""`make demo`: start a registry and the two example services, and print the flow with trace ids.

1. a registry on a free loopback port, with JWT auth on, on a temporary store; each service gets
   its own credential first (`registry credentials issue`): a key that can sign only for that
   service and only the scopes it needs. The registry's master secret stays with the registry;
2. `ai-agents` (async), which registers its Inbox and subscribes to `lead.*`;
3. `crm` (sync), which creates leads: publishes `lead.created`, sends `analyze` to ai-agents, hears
   `ai.analysis_completed`.

The services know only REGISTRY_URL and REGISTRY_CREDENTIALS_FILE; nothing tells either where the
other runs, and neither could speak for the other.
At the end the demo checks that every line about a lead, from both services, carries the same
trace id, then stops everything gracefully (SIGTERM). Exit status 0 means the whole flow worked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SERVING = re.compile(r"registry serving .*address=(\S+)")
_LEAD_LINE = re.compile(r"^\[(\S+)\] trace=([0-9a-f]{32}) lead=(\d+) ")


class Child:
    """A child process whose output lines are echoed (optionally) and kept."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], *, echo: bool = True) -> None:
        self.name = name
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(echo,), daemon=True).start()

    def _pump(self, echo: bool) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if echo:
                print(line, end="", flush=True)
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} did not print {pattern.pattern!r}:\n" + "\n".join(self.lines)
                    )
                self._new_line.wait(min(left, 0.1))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)


SCOPES = {
    "ai-agents": ["discover", "subscribe:lead.*", "publish:ai.analysis_completed"],
    "crm": ["discover", "publish:lead.created", "send:ai-agents", "subscribe:ai.*"],
}
"""What each service may do beyond its own instances: exactly what its part of the story needs."""


def issue_credential(service: str, data: Path, env: dict[str, str]) -> Path:
    """`registry credentials issue SERVICE --scope ...`: the service's own key, registered with the
    registry's service keys; the returned file is all the service gets."""
    out = data / f"{service}.credentials.json"
    scopes = [arg for scope in SCOPES[service] for arg in ("--scope", scope)]
    command = ["-m", "registry.cli.main", "credentials", "issue", service, "--out", str(out)]
    subprocess.run(
        [sys.executable, *command, *scopes, "--db-path", str(data / "registry.db")],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def main() -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "SERVICE_", "JWT_"))}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        credentials = {service: issue_credential(service, data, base) for service in SCOPES}
        registry = Child(
            "registry",
            ["-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(data / "registry.db")],
            {**base, "REGISTRY_AUTH_MODE": "jwt"},
            echo=False,
        )
        children = [registry]
        try:
            address = registry.wait_for(_SERVING).group(1)
            print(f"[registry] serving on {address} (JWT auth on, one key per service, bound to its scopes)")
            service_env = {**base, "REGISTRY_URL": address}
            ai = Child(
                "ai-agents",
                ["-m", "examples.ai_agents_service"],
                {
                    **service_env,
                    "REGISTRY_CREDENTIALS_FILE": str(credentials["ai-agents"]),
                    "SERVICE_ID": "ai-agents-1",
                },
            )
            children.append(ai)
            ai.wait_for(re.compile("READY"))
            crm = Child(
                "crm",
                ["-m", "examples.crm_service", "2"],
                {**service_env, "REGISTRY_CREDENTIALS_FILE": str(credentials["crm"])},
            )
            children.append(crm)
            crm.proc.wait(60)  # it creates its leads and leaves on its own
        finally:
            codes = [child.stop() for child in reversed(children)]
        return _summary([line for child in children[1:] for line in child.lines], codes)


def _summary(lines: list[str], codes: list[int]) -> int:
    """One trace id per lead across both services, and a clean exit everywhere."""
    traces: dict[str, set[str]] = defaultdict(set)
    services: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        if match := _LEAD_LINE.match(line):
            service, trace_id, lead = match.groups()
            traces[lead].add(trace_id)
            services[lead].add(service)
    ok = bool(traces) and all(
        len(t) == 1 and services[lead] == {"crm", "ai-agents"} for lead, t in traces.items()
    )
    for lead, trace_ids in sorted(traces.items()):
        across = ", ".join(sorted(services[lead]))
        print(f"[demo] lead {lead}: trace {', '.join(sorted(trace_ids))} across {across}")
    print(f"[demo] {'OK' if ok and not any(codes) else 'FAILED'}: one trace per lead, exit codes {codes}")
    return 0 if ok and not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main())
