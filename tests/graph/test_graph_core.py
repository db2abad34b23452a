"""The graph core: windows, traffic bounds and every analysis, table-driven, with an injected clock."""

from __future__ import annotations

import pytest

from registry.core import graph_analysis
from registry.core.errors import InvalidArgument
from registry.core.graph import build
from registry.core.graph_model import EdgeKind, GraphQuery, ImpactKind
from registry.core.graph_traffic import Traffic
from registry.core.graph_window import EdgeWindows, Window, percentile
from registry.core.messages import MessageType
from registry.core.model import (
    Dependency,
    DependencyKind,
    Endpoint,
    EndpointProtocol,
    HealthStatus,
    Instance,
    Registration,
)

HARD, SOFT, OPTIONAL = DependencyKind.HARD, DependencyKind.SOFT, DependencyKind.OPTIONAL
COMMAND, QUERY, EVENT = MessageType.COMMAND, MessageType.QUERY, MessageType.EVENT


class Clock:
    def __init__(self, now: float = 100_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def instance(
    service: str,
    deps: tuple[Dependency, ...] = (),
    status: HealthStatus = HealthStatus.HEALTHY,
    instance_id: str = "1",
) -> Instance:
    registration = Registration(
        service,
        instance_id,
        (Endpoint("inbox", "127.0.0.1", 1, EndpointProtocol.GRPC),),
        dependencies=deps,
    )
    return Instance(registration, status, 0.0, 0.0, 0.0, 1, 1)


def dep(service: str, kind: DependencyKind = HARD, version: str = "") -> Dependency:
    return Dependency(service, kind, version)


# --- windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "ages", "expected"),
    [
        (Window.ONE_MINUTE, [0, 5, 49], 3),  # all inside the last 6 slots of 10 s
        (Window.ONE_MINUTE, [0, 61, 300], 1),  # 61 s ago is out of the minute
        (Window.FIVE_MINUTES, [0, 61, 289, 301], 3),
        (Window.SIXTY_MINUTES, [0, 61, 3000, 3700], 3),
        (Window.SIXTY_MINUTES, [3700, 7200], 0),
    ],
)
def test_window_counts_only_recent_messages(window: Window, ages: list[float], expected: int) -> None:
    edge = EdgeWindows()
    now = 1_000_020.0  # on a 60 s boundary
    for age in sorted(ages, reverse=True):
        edge.record(now - age, 0, 0.001)
    assert edge.stats(now, window).count == expected
    assert edge.total == len(ages)


def test_slot_reused_after_a_full_ring_forgets_the_old_counts() -> None:
    edge = EdgeWindows()
    edge.record(1000.0, 0, 0.001)
    edge.record(1000.0 + 310.0, 0, 0.001)  # same fine slot index, 31 slots later
    assert edge.stats(1310.0, Window.ONE_MINUTE).count == 1
    assert edge.stats(1310.0, Window.SIXTY_MINUTES).count == 2


@pytest.mark.parametrize(
    ("latencies", "p50", "p99"),
    [
        ([0.003] * 100, pytest.approx(0.0035), pytest.approx(0.00497)),  # bucket (2 ms, 5 ms]
        ([0.0001] * 50 + [0.4] * 50, pytest.approx(0.0005), pytest.approx(0.494)),
        ([100.0] * 10, 30.0, 30.0),  # above the last bound: the highest finite bound
    ],
)
def test_percentiles_interpolate_inside_the_bucket(latencies: list[float], p50: float, p99: float) -> None:
    edge = EdgeWindows()
    for seconds in latencies:
        edge.record(50.0, 0, seconds)
    stats = edge.stats(50.0, Window.ONE_MINUTE)
    assert (stats.p50, stats.p99) == (p50, p99)


def test_percentile_of_nothing_is_zero() -> None:
    assert percentile([0] * 16, 0, 0.5) == 0.0


def test_errors_are_counted_by_code_and_unknown_codes_as_unknown() -> None:
    edge = EdgeWindows()
    for code in (0, 0, 14, 14, 5, 99):
        edge.record(10.0, code, 0.01)
    stats = edge.stats(10.0, Window.FIVE_MINUTES)
    assert stats.count == 6
    assert dict(stats.errors) == {14: 2, 5: 1, 2: 1}
    assert stats.error_count == 4


# --- traffic bounds --------------------------------------------------------------------------


def test_traffic_bounds_edges_per_source_and_in_total() -> None:
    clock = Clock()
    traffic = Traffic(max_edges=3, max_edges_per_source=2, clock=clock)
    traffic.record("a", "x", COMMAND, 0, 0.001)
    traffic.record("a", "y", COMMAND, 0, 0.001)
    traffic.record("a", "z", COMMAND, 0, 0.001)  # third edge of source a: dropped
    traffic.record("b", "x", QUERY, 0, 0.001)
    traffic.record("c", "x", QUERY, 0, 0.001)  # fourth edge in total: dropped
    traffic.record("a", "x", COMMAND, 0, 0.001)  # an existing edge still counts
    assert len(traffic) == 3
    assert traffic.dropped == 2
    counts = {(e.source, e.target, e.kind): e.stats.count for e in traffic.edges(Window.ONE_MINUTE)}
    assert counts == {("a", "x", COMMAND): 2, ("a", "y", COMMAND): 1, ("b", "x", QUERY): 1}


def test_traffic_reuses_idle_edges_when_full() -> None:
    clock = Clock()
    traffic = Traffic(max_edges=1, clock=clock)
    traffic.record("a", "x", COMMAND, 0, 0.001)
    clock.now += 600
    traffic.record("b", "x", COMMAND, 0, 0.001)  # a->x idle for 10 min only: dropped
    clock.now += 3700
    traffic.record("b", "x", COMMAND, 0, 0.001)  # a->x idle for over an hour: replaced
    assert [(e.source, e.target) for e in traffic.edges(Window.ONE_MINUTE)] == [("b", "x")]
    assert traffic.dropped == 1


# --- analyses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adjacency", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [("a", "b")]),
        ({"a": {"a"}}, [("a",)]),
        ({"c": {"a"}, "a": {"b"}, "b": {"c"}}, [("a", "b", "c")]),
        (
            {"a": {"b", "c"}, "b": {"a", "c"}, "c": {"a"}},
            [("a", "b"), ("a", "b", "c"), ("a", "c")],
        ),
    ],
)
def test_each_cycle_once_from_its_smallest_member(
    adjacency: dict[str, set[str]], expected: list[tuple[str, ...]]
) -> None:
    assert graph_analysis.cycles(adjacency) == (expected, False)


def test_cycle_enumeration_is_bounded() -> None:
    complete = {str(i): {str(j) for j in range(9) if j != i} for i in range(9)}
    found, truncated = graph_analysis.cycles(complete)
    assert truncated
    assert len(found) <= graph_analysis.MAX_CYCLES


@pytest.mark.parametrize(
    ("hard", "expected"),
    [
        ({}, ()),
        ({"a": {"b"}}, ("a", "b")),
        ({"a": {"b", "x"}, "b": {"c"}, "c": {"d"}, "x": set()}, ("a", "b", "c", "d")),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ("a", "b", "c")),  # the closing edge is left out
        ({"z": {"y"}, "b": {"c"}}, ("b", "c")),  # ties: the smaller name
    ],
)
def test_critical_path_is_the_longest_hard_chain(
    hard: dict[str, set[str]], expected: tuple[str, ...]
) -> None:
    assert graph_analysis.critical_path(hard) == expected


def test_critical_path_handles_long_chains_without_recursion() -> None:
    chain = {f"s{i:05d}": {f"s{i + 1:05d}"} for i in range(5000)}
    assert len(graph_analysis.critical_path(chain)) == 5001


@pytest.mark.parametrize(
    ("callers", "expected"),
    [
        ({}, []),
        (
            {"db": {"api": ImpactKind.HARD}, "api": {"web": ImpactKind.SOFT}},
            [("api", ImpactKind.HARD, 1), ("web", ImpactKind.SOFT, 2)],
        ),
        (  # web reaches db hard through api and optional directly: the hard path wins
            {
                "db": {"api": ImpactKind.HARD, "web": ImpactKind.OPTIONAL},
                "api": {"web": ImpactKind.HARD},
            },
            [("api", ImpactKind.HARD, 1), ("web", ImpactKind.HARD, 2)],
        ),
        (
            {"db": {"cron": ImpactKind.UNDECLARED}, "cron": {"db": ImpactKind.HARD}},
            [("cron", ImpactKind.UNDECLARED, 1)],
        ),
    ],
)
def test_blast_radius_by_the_weakest_link_of_the_strongest_path(
    callers: dict[str, dict[str, ImpactKind]], expected: list[tuple[str, ImpactKind, int]]
) -> None:
    assert graph_analysis.blast_radius("db", callers) == expected


@pytest.mark.parametrize(
    ("adjacency", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, {"a": 0, "b": 1, "c": 2}),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, {"a": 2, "b": 2, "c": 0}),
        ({"a": {"a"}}, {"a": 0}),
    ],
)
def test_dependents_counts_transitive_callers(
    adjacency: dict[str, set[str]], expected: dict[str, int]
) -> None:
    assert graph_analysis.dependents(adjacency, set(adjacency)) == expected


# --- the joined graph ------------------------------------------------------------------------


def shop() -> tuple[list[Instance], Traffic, Clock]:
    """web -hard-> orders -hard-> payments -soft-> orders (a cycle); orders -optional-> mail;
    orders calls fraud without declaring it; payments' only instance is down."""
    instances = [
        instance("web", (dep("orders"),)),
        instance("orders", (dep("payments", version=">=2,<3"), dep("mail", OPTIONAL))),
        instance("orders", (dep("payments", SOFT, "~=2.1"),), instance_id="2"),
        instance("payments", (dep("orders", SOFT),), status=HealthStatus.CRITICAL),
        instance("mail"),
        instance("fraud"),
    ]
    clock = Clock()
    traffic = Traffic(clock=clock)
    for _ in range(3):
        traffic.record("web", "orders", COMMAND, 0, 0.004)
    traffic.record("web", "orders", QUERY, 14, 0.2)
    traffic.record("orders", "fraud", QUERY, 0, 0.002)
    traffic.record("orders", "payments", COMMAND, 0, 0.01)
    return instances, traffic, clock


def test_declared_edges_are_the_union_over_serving_instances() -> None:
    instances, traffic, _ = shop()
    graph = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery())
    edges = {(e.source, e.target): e for e in graph.edges}
    payments = edges[("orders", "payments")].declared
    assert payments is not None
    assert (payments.kind, payments.version_constraints, payments.instances) == (HARD, (">=2,<3", "~=2.1"), 2)
    assert ("payments", "orders") not in edges  # payments is down: it declares nothing
    web = edges[("web", "orders")]
    assert [(o.kind, o.stats.count, dict(o.stats.errors)) for o in web.observed] == [
        (COMMAND, 3, {}),
        (QUERY, 1, {14: 1}),
    ]
    assert (web.calls, web.errors) == (4, 1)
    nodes = {n.service: n for n in graph.nodes}
    assert (nodes["orders"].instances, nodes["orders"].serving) == (2, 2)
    assert (nodes["payments"].instances, nodes["payments"].serving) == (1, 0)
    assert (nodes["orders"].fan_in, nodes["orders"].fan_out) == (1, 3)
    assert nodes["fraud"].dependents == 2  # orders, and web through orders


def test_differences_between_declared_and_observed() -> None:
    instances, traffic, _ = shop()
    graph = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery())
    assert graph.differences.undeclared == (("orders", "fraud"),)
    assert graph.differences.unused == (("orders", "mail"),)
    assert graph.differences.unserved == (("orders", "payments"),)
    assert graph.critical_path == ("web", "orders", "payments")
    assert graph.hubs[0].service == "orders"


def test_cycle_between_declared_and_observed_edges_is_reported_once() -> None:
    instances, traffic, _ = shop()
    traffic.record("payments", "orders", EVENT, 0, 0.001)
    graph = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery())
    assert [(c.services, c.edges) for c in graph.cycles] == [
        (("orders", "payments"), (("orders", "payments"), ("payments", "orders")))
    ]


def test_old_traffic_leaves_the_short_window_but_not_the_long_one() -> None:
    instances, traffic, clock = shop()
    clock.now += 600
    short = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery(window=Window.FIVE_MINUTES))
    long = build(instances, traffic.edges(Window.SIXTY_MINUTES), GraphQuery(window=Window.SIXTY_MINUTES))
    assert short.differences.undeclared == ()
    assert ("orders", "fraud") not in {(e.source, e.target) for e in short.edges}
    assert long.differences.undeclared == (("orders", "fraud"),)


@pytest.mark.parametrize(
    ("query", "services", "pairs"),
    [
        (GraphQuery(root="payments", depth=1), {"orders", "payments"}, {("orders", "payments")}),
        (
            GraphQuery(root="mail", depth=2),
            {"mail", "orders", "web", "payments", "fraud"},
            {("orders", "mail"), ("web", "orders"), ("orders", "payments"), ("orders", "fraud")},
        ),
        (
            GraphQuery(kinds=frozenset({EdgeKind.QUERY})),
            {"web", "orders", "payments", "mail", "fraud"},
            {("web", "orders"), ("orders", "fraud")},
        ),
        (
            GraphQuery(root="web", kinds=frozenset({EdgeKind.HARD})),
            {"web", "orders", "payments"},
            {("web", "orders"), ("orders", "payments")},
        ),
    ],
)
def test_filters_by_root_depth_and_kind(
    query: GraphQuery, services: set[str], pairs: set[tuple[str, str]]
) -> None:
    instances, traffic, _ = shop()
    graph = build(instances, traffic.edges(query.window), query)
    assert {n.service for n in graph.nodes} == services
    assert {(e.source, e.target) for e in graph.edges} == pairs


def test_blast_radius_of_the_root() -> None:
    instances, traffic, _ = shop()
    graph = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery(root="fraud"))
    assert [(i.service, i.kind, i.depth) for i in graph.blast_radius] == [
        ("orders", ImpactKind.UNDECLARED, 1),
        ("web", ImpactKind.UNDECLARED, 2),
    ]
    graph = build(instances, traffic.edges(Window.FIVE_MINUTES), GraphQuery(root="payments"))
    assert [(i.service, i.kind, i.depth) for i in graph.blast_radius] == [
        ("orders", ImpactKind.HARD, 1),
        ("web", ImpactKind.HARD, 2),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (GraphQuery(depth=-1), "depth"),
        (GraphQuery(depth=33), "depth"),
        (GraphQuery(kinds=frozenset()), "kinds"),
        (GraphQuery(root="nobody"), "root_service"),
    ],
)
def test_bad_queries_name_the_field(query: GraphQuery, field: str) -> None:
    instances, traffic, _ = shop()
    with pytest.raises(InvalidArgument) as raised:
        build(instances, traffic.edges(Window.FIVE_MINUTES), query)
    assert raised.value.field == field
