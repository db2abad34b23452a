"""The console's browser tests: a real registry process with its console on, real instance
processes heartbeating through the client SDK, and Debian's Chromium driven by Playwright.

Chromium runs headless with a fresh profile (`launch_persistent_context` on a new temporary
folder), from /usr/bin/chromium: Playwright's own browser download is never used. `make browser`
installs Chromium when it is missing; without it these tests fail with that instruction.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.helpers.process import ServerProcess, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SECRET = "console-tests-shared-secret-0123456789abcdef"
TRACE_URL = "http://jaeger.test:16686/trace/{trace_id}"
_CONSOLE = re.compile(r"console serving url=(\S+)")
ROOT = Path(__file__).resolve().parents[2]


def mint(service: str, scope: str, ttl: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": service, "aud": "registry", "iat": now, "exp": now + ttl, "scope": scope}
    return jwt.encode(claims, SECRET, algorithm="HS256")


OPERATOR = mint("ops", "discover subscribe:# admin")


@dataclass
class InstanceProcess:
    service: str
    instance_id: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float = 10.0) -> str:
        """The next stdout line starting with `prefix` (lines before it are kept)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"{self.instance_id} exited before printing {prefix!r}: {self.lines}")
            self.lines.append(line.strip())
            if line.startswith(prefix):
                return line.strip()
        raise AssertionError(f"{self.instance_id} did not print {prefix!r} in {timeout} s: {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@dataclass
class ConsoleRegistry:
    server: ServerProcess
    url: str
    channel: grpc.Channel
    instances: dict[str, InstanceProcess] = field(default_factory=dict)

    def start_instances(self, *specs: tuple[str, ...]) -> list[InstanceProcess]:
        """Start (service, instance_id, *dependencies) instances together; wait until each is ready."""
        started = [self._spawn(*spec) for spec in specs]
        for instance in started:
            instance.expect("ready", timeout=30)
        return started

    def _spawn(self, service: str, instance_id: str, *dependencies: str) -> InstanceProcess:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.console.instance",
                self.server.address,
                service,
                instance_id,
                *dependencies,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env={
                **os.environ,
                "JWT_SECRET": SECRET,
                "REGISTRY_SCOPES": "discover send:* publish:# subscribe:#",
            },
        )
        instance = InstanceProcess(service, instance_id, proc)
        self.instances[instance_id] = instance
        return instance

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {OPERATOR}"),)


@pytest.fixture(scope="module")
def console_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleRegistry]:
    data = tmp_path_factory.mktemp("console-registry")
    server = start_server(
        data / "registry.db",
        "--console-address",
        "127.0.0.1:0",
        "--console-trace-url",
        TRACE_URL,
        "--startup-grace-seconds",
        "0",
        env={"REGISTRY_AUTH_MODE": "jwt", "REGISTRY_JWT_SECRET": SECRET},
    )
    match = _CONSOLE.search(server.output())
    assert match, server.output()
    channel = grpc.insecure_channel(server.address)
    registry = ConsoleRegistry(server, match.group(1), channel)
    try:
        yield registry
    finally:
        for instance in registry.instances.values():
            instance.stop()
        channel.close()
        server.kill()
        assert "Traceback" not in server.output(), server.output()
        assert " ERROR " not in server.output(), server.output()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage: no token) that fails the test on a script error."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    yield tab
    tab.close()
    # The only console errors allowed are the browser's own notes on the refusals tests provoke.
    unexpected = [p for p in problems if "the server responded with a status of 4" not in p]
    assert not unexpected, unexpected


def sign_in(page: Page, url: str, token: str = OPERATOR) -> None:
    page.goto(url)
    page.fill("#token", token)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")


def open_service(page: Page, url: str, service: str, token: str = OPERATOR) -> None:
    """Sign in and open one service's instances in the fleet view."""
    sign_in(page, url, token)
    page.click(f'#services tr[data-service="{service}"]')


def screenshot(page: Page, out: Path, name: str) -> Path:
    """Save a screenshot in the test's output folder, and into CONSOLE_SCREENSHOTS (docs/images) when set."""
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")
    copy_to = os.environ.get("CONSOLE_SCREENSHOTS")
    if copy_to:
        shutil.copy(path, Path(copy_to) / path.name)
    return path


def counts_of(rows: Any) -> dict[str, int]:
    return {s: getattr(rows, s) for s in ("unknown", "healthy", "degraded", "critical", "dead", "draining")}
