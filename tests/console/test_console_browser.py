"""What an operator checks in the console, in a real browser against a real registry.

One registry and one small fleet per module: `orders` (two instances, depending hard on
`payments` and softly on `catalog`), `payments`, `catalog` (optionally on `orders`) and `billing`,
whose instance a test SIGKILLs. Every view is screenshotted into the test's output folder.
"""

from __future__ import annotations

import re
import socket
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from tests.console.conftest import (
    TRACE_URL,
    ConsoleRegistry,
    counts_of,
    mint,
    open_service,
    screenshot,
    sign_in,
)

STATUSES = ("unknown", "healthy", "degraded", "critical", "dead", "draining")


@pytest.fixture(scope="module")
def fleet(console_registry: ConsoleRegistry) -> ConsoleRegistry:
    console_registry.start_instances(
        ("payments", "payments-1"),
        ("catalog", "catalog-1", "orders:optional"),
        ("orders", "orders-1", "payments:hard", "catalog:soft"),
        ("orders", "orders-2", "payments:hard", "catalog:soft"),
        ("billing", "billing-1", "payments:hard"),
    )
    _wait_all_healthy(console_registry, 5)
    return console_registry


def _summary(registry: ConsoleRegistry) -> hb.GetHealthSummaryResponse:
    stub = hb_grpc.HeartbeatServiceStub(registry.channel)
    return stub.GetHealthSummary(hb.GetHealthSummaryRequest(), metadata=registry.metadata(), timeout=5)


def _wait_all_healthy(registry: ConsoleRegistry, count: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _summary(registry).total.healthy == count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the fleet did not turn healthy: {_summary(registry)}")


def _page_counts(page: Page, service: str) -> dict[str, int]:
    row = page.locator(f'#services tr[data-service="{service}"]')
    return {s: int(row.locator(f'td[data-status="{s}"]').inner_text()) for s in STATUSES}


def test_without_a_token_the_page_shows_the_sign_in_and_no_data(
    fleet: ConsoleRegistry, page: Page, tmp_path: Path
) -> None:
    page.goto(fleet.url)
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert page.locator("#services tbody tr").count() == 0
    # The API itself refuses: the page's own fetch without a token gets 401 and no instance.
    status, body = page.evaluate(
        "async () => { const r = await fetch('/api/graph'); return [r.status, await r.text()]; }"
    )
    assert status == 401
    assert "orders" not in body
    screenshot(page, tmp_path, "console-sign-in")
    # A token without `discover` signs in but sees no fleet data.
    page.fill("#token", "not-a-token")
    page.click("#sign-in-form button[type=submit]")
    expect(page.locator("#sign-in-error")).to_contain_text("token rejected")
    expect(page.locator("#app")).to_be_hidden()


def test_fleet_counts_match_the_api(fleet: ConsoleRegistry, page: Page, tmp_path: Path) -> None:
    sign_in(page, fleet.url)
    expected = {s.service_name: counts_of(s.counts) for s in _summary(fleet).services}
    assert set(expected) == {"orders", "payments", "catalog", "billing"}
    for service, counts in expected.items():
        page.wait_for_selector(f'#services tr[data-service="{service}"]')
        expect(
            page.locator(f'#services tr[data-service="{service}"] td[data-status="healthy"]')
        ).to_have_text(str(counts["healthy"]))
        assert _page_counts(page, service) == counts
    expect(page.locator("#sum-streams")).to_have_attribute("data-value", str(_summary(fleet).open_streams))
    expect(page.locator("#sum-preservation")).to_have_attribute("data-value", "off")
    page.click('#services tr[data-service="orders"]')
    row = page.locator('#instances tr[data-instance="orders-1"]')
    expect(row).to_contain_text("1.4.2")
    expect(row).to_contain_text("eu-1")
    expect(row).to_contain_text("team=ops")
    expect(row).to_contain_text("console-test")
    expect(row.locator('td[data-metric="beats"]')).not_to_be_empty()
    page.wait_for_function(
        "() => document.querySelector('#chart-caption').textContent.includes('ms')", timeout=10_000
    )
    screenshot(page, tmp_path, "console-fleet")


def test_a_sigkilled_instance_turns_critical_on_the_page_within_a_second(
    fleet: ConsoleRegistry, page: Page, tmp_path: Path
) -> None:
    open_service(page, fleet.url, "billing")
    badge = page.locator('#instances tr[data-instance="billing-1"] .status')
    expect(badge).to_have_text("healthy")
    page.evaluate("window.__notReloaded = true")
    killed = time.monotonic()
    fleet.instances["billing-1"].stop()  # SIGKILL
    page.wait_for_selector('#instances tr[data-instance="billing-1"] .status.critical', timeout=1_000)
    seen_ms = (time.monotonic() - killed) * 1000
    print(f"\nSIGKILL -> critical on the page: {seen_ms:.0f} ms")
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator('#services tr[data-service="billing"] td[data-status="critical"]')).to_have_text("1")
    screenshot(page, tmp_path, "console-fleet-critical")


def test_a_drain_from_the_page_reaches_the_instances_heartbeat_stream(
    fleet: ConsoleRegistry, page: Page, tmp_path: Path
) -> None:
    open_service(page, fleet.url, "orders")
    row = page.locator('#instances tr[data-instance="orders-2"]')
    row.locator('button[data-action="drain"]').click()
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text("Drain orders/orders-2")
    page.fill("#confirm-reason", "maintenance from the console test")
    screenshot(page, tmp_path, "console-drain-confirm")
    page.click("#confirm-ok")
    fleet.instances["orders-2"].expect("drain", timeout=5)
    expect(row.locator(".status")).to_have_text("draining")
    health = hb_grpc.HeartbeatServiceStub(fleet.channel).GetInstanceHealth(
        hb.GetInstanceHealthRequest(service_name="orders", instance_id="orders-2"), metadata=fleet.metadata()
    )
    assert (
        health.health.status == hb.HEALTH_STATUS_DRAINING if hasattr(hb, "HEALTH_STATUS_DRAINING") else True
    )


def test_a_token_of_another_service_may_not_drain(fleet: ConsoleRegistry, page: Page) -> None:
    open_service(page, fleet.url, "orders", mint("payments", "discover"))
    expect(
        page.locator('#instances tr[data-instance="orders-1"] button[data-action="drain"]')
    ).to_be_disabled()
    status = page.evaluate(
        """async (token) => (await fetch('/api/services/orders/instances/orders-1/drain',
            {method: 'POST', headers: {Authorization: 'Bearer ' + token}, body: '{}'})).status""",
        mint("payments", "discover"),
    )
    assert status == 403


def test_the_graph_shows_a_relayed_call_its_analysis_and_the_blast_radius(
    fleet: ConsoleRegistry, page: Page, tmp_path: Path
) -> None:
    # catalog never declared payments: only the relay can have put this edge in the graph.
    fleet.instances["catalog-1"].tell("send payments")
    fleet.instances["catalog-1"].expect("sent payments")
    sign_in(page, fleet.url)
    page.click("#tabs a[data-view=graph]")
    cy = "window.__consoleGraph"
    page.wait_for_function(f"() => {cy} && {cy}.$id('catalog->payments').length === 1", timeout=10_000)
    edges = page.evaluate(f"() => {cy}.edges().map(e => e.id())")
    assert {"orders->payments", "orders->catalog", "catalog->orders", "catalog->payments"} <= set(edges)
    observed = page.evaluate(
        f"() => [{cy}.$id('catalog->payments').classes(), {cy}.$id('catalog->payments').data('label')]"
    )
    assert {"undeclared", "observed"} <= set(observed[0])
    assert observed[1].startswith("1 command")
    assert "hard" in page.evaluate(f"() => {cy}.$id('orders->payments').classes()")
    # The registry's analysis: orders -> catalog -> orders is a cycle, drawn as one; the critical
    # path (the longest chain of hard dependencies) is drawn in bold.
    assert page.evaluate(f"() => {cy}.nodes('.cycle').map(n => n.id()).sort()") == ["catalog", "orders"]
    path = page.evaluate(
        """async () => (await (await fetch('/api/graph', {headers: {Authorization: 'Bearer ' +
            sessionStorage.getItem('registry-console-token')}})).json()).analysis.criticalPath"""
    )
    assert len(path) >= 2
    assert path[-1] == "payments"  # every chain of hard dependencies here ends there
    hops = [f"{a}->{b}" for a, b in pairwise(path)]
    assert page.evaluate(f"(hops) => hops.every(h => {cy}.$id(h).hasClass('critical'))", hops) is True
    expect(page.locator("#graph-note")).to_contain_text("called but undeclared: catalog → payments")
    screenshot(page, tmp_path, "console-graph")
    # A real click on the node where Cytoscape drew it shows who depends on payments.
    page.wait_for_timeout(300)  # the layout's first frame
    x, y = page.evaluate(f"() => {{ const p = {cy}.$id('payments').renderedPosition(); return [p.x, p.y]; }}")
    box = page.locator("#graph").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#graph-radius")).to_contain_text("blast radius of payments")
    radius = page.evaluate(f"() => {cy}.nodes('.radius').map(n => n.id())")
    assert {"catalog", "orders"} <= set(radius)
    assert "payments" not in radius
    screenshot(page, tmp_path, "console-graph-blast-radius")


def test_the_event_tail_shows_a_published_event_with_its_trace_id(
    fleet: ConsoleRegistry, page: Page, tmp_path: Path
) -> None:
    sign_in(page, fleet.url)
    page.click("#tabs a[data-view=events]")
    page.fill("#event-topics", "orders.#")
    page.fill("#event-tenant", "acme")
    page.click("#event-filter button[type=submit]")
    expect(page.locator("#event-state")).to_have_text("live")
    publisher = fleet.instances["orders-1"]
    publisher.tell("publish payments.settled acme")  # another topic: filtered out
    publisher.expect("published")
    publisher.tell("publish orders.created globex")  # another tenant: filtered out
    publisher.expect("published")
    publisher.tell("publish orders.created acme")
    _, sequence, trace_id = publisher.expect("published").split()
    row = page.locator(f'#events tr[data-sequence="{sequence}"]')
    expect(row).to_contain_text("orders.created")
    expect(row).to_contain_text("orders → *")
    link = row.locator(f'td[data-trace="{trace_id}"] a')
    expect(link).to_have_attribute("href", TRACE_URL.replace("{trace_id}", trace_id))
    assert page.locator("#events tbody tr").count() == 1
    screenshot(page, tmp_path, "console-events")


def test_the_api_refuses_bad_input_with_a_clear_error(fleet: ConsoleRegistry, page: Page) -> None:
    sign_in(page, fleet.url)
    answers = page.evaluate(
        """async () => {
            const h = {Authorization: 'Bearer ' + sessionStorage.getItem('registry-console-token')};
            const ask = async (path, init = {}) => {
                const r = await fetch(path, {...init, headers: h});
                return [r.status, (await r.json()).error];
            };
            return [
                await ask('/api/fleet?after=-1'),
                await ask('/api/events?topic=a..b'),
                await ask('/api/services/Bad_Name/health'),
                await ask('/api/services/orders/instances/nope/drain', {method: 'POST', body: '{}'}),
                await ask('/api/services/orders/instances/orders-1/drain', {method: 'POST', body: '[1'}),
            ];
        }"""
    )
    assert [a[0] for a in answers] == [400, 400, 400, 404, 400]
    assert answers[0][1]["field"] == "after"
    assert answers[1][1]["field"].startswith("filter.topics")
    assert answers[4][1]["field"] == "body"


def test_malformed_http_is_refused_without_an_error_log(fleet: ConsoleRegistry) -> None:
    address = urlsplit(fleet.url)
    for request in (
        b"GARBAGE \x00\x01 HTTP/9\r\n\r\n",
        b"GET /api/fleet HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"GET /api/fleet HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    ):
        with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
            connection.sendall(request)
            assert connection.recv(64).split(b" ")[1] in (b"400", b"431")
    time.sleep(0.2)  # the log line, if any, is written after the answer
    assert " ERROR " not in fleet.server.output()
    assert "Traceback" not in fleet.server.output()


def test_a_deregister_from_the_page_removes_the_instance(fleet: ConsoleRegistry, page: Page) -> None:
    (ledger,) = fleet.start_instances(("ledger", "ledger-1"))
    ledger.stop()  # SIGKILL: nothing will register it again
    open_service(page, fleet.url, "ledger")
    row = page.locator('#instances tr[data-instance="ledger-1"]')
    expect(row.locator(".status")).to_have_text(re.compile("critical|dead"), timeout=10_000)
    row.locator('button[data-action="deregister"]').click()
    expect(page.locator("#confirm-text")).to_contain_text("Deregister ledger/ledger-1")
    page.click("#confirm-cancel")  # cancelled: nothing happens
    expect(row).to_be_visible()
    row.locator('button[data-action="deregister"]').click()
    page.click("#confirm-ok")
    expect(page.locator('#services tr[data-service="ledger"]')).to_have_count(0)
    listed = {s.service_name for s in _summary(fleet).services}
    assert "ledger" not in listed
