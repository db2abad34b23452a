"""A damaged record in the SQLite file never stops the registry: at start each unreadable instance
row is skipped with one WARNING naming its table and instance, the rest is served, the row stays
in the file untouched, and the instance's next registration replaces it. An unreadable event is
skipped the same way by every read of the log. (The etcd store: tests/cluster/test_cluster_damaged.py.)

The damage is done with Python's own sqlite3 module, not the registry's code, on a database a real
`registry serve` wrote; the registry is a real subprocess."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from generated.registry.v1 import relay_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2_grpc as pb_grpc
from tests.helpers.process import ServerProcess, running_server
from tests.helpers.registry_api import instance

DAMAGE = {
    # instance id -> the UPDATE that damages its row (`?` is the instance id)
    "truncated-json": "UPDATE instances SET endpoints = substr(endpoints, 1, 12) WHERE instance_id = ?",
    "not-utf8": "UPDATE instances SET metadata = CAST(x'7b22ff223a2261227d' AS TEXT) WHERE instance_id = ?",
    "port-as-text": (
        'UPDATE instances SET endpoints = \'[{"name":"","host":"h","port":"9000","protocol":1}]\''
        " WHERE instance_id = ?"
    ),
    "unknown-status": "UPDATE instances SET status = 99 WHERE instance_id = ?",
    "tags-not-a-list": "UPDATE instances SET tags = '{\"a\":1}' WHERE instance_id = ?",
    "id-not-utf8": "UPDATE instances SET instance_id = CAST(x'69642dff' AS TEXT) WHERE instance_id = ?",
}
GOOD = ["good-1", "good-2"]


def _register(address: str, instance_id: str) -> None:
    with grpc.insecure_channel(address) as channel:
        rpb_grpc.RegistryServiceStub(channel).Register(
            rpb.RegisterRequest(instance=instance("orders", instance_id)), timeout=10
        )


def _publish(address: str, names: list[str]) -> list[int]:
    with grpc.insecure_channel(address) as channel:
        relay = pb_grpc.RelayServiceStub(channel)
        return [
            relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name=name)), timeout=10).sequence
            for name in names
        ]


def _listed(address: str) -> list[str]:
    with grpc.insecure_channel(address) as channel:
        answer = rpb_grpc.RegistryServiceStub(channel).ListInstances(rpb.ListInstancesRequest(), timeout=10)
    return sorted(i.instance_id for i in answer.instances)


def _events(address: str) -> list[int]:
    with grpc.insecure_channel(address) as channel:
        answer = pb_grpc.RelayServiceStub(channel).ListEvents(
            pb.ListEventsRequest(filter=pb.EventFilter(topics=["ticks.#"])), timeout=10
        )
    return [e.sequence for e in answer.events]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path, list[int]]]:
    """A database with every kind of damage, and a registry started on it."""
    db = tmp_path_factory.mktemp("damaged") / "registry.db"
    with running_server(db) as first:
        for instance_id in [*DAMAGE, *GOOD]:
            _register(first.address, instance_id)
        sequences = _publish(first.address, ["ticks.a", "ticks.b", "ticks.c", "ticks.d"])
        assert first.terminate() == 0
    with sqlite3.connect(db) as conn:
        for instance_id, update in DAMAGE.items():
            conn.execute(update, (instance_id,))
        conn.execute("UPDATE events SET headers = '{\"a\":' WHERE sequence = ?", (sequences[1],))
        conn.execute("UPDATE events SET name = CAST(x'ff' AS TEXT) WHERE sequence = ?", (sequences[2],))
    conn.close()
    with running_server(db) as server:
        yield server, db, sequences


def test_unreadable_rows_are_skipped_and_named_and_the_rest_is_served(
    damaged: tuple[ServerProcess, Path, list[int]],
) -> None:
    server, db, _ = damaged
    assert server.proc.poll() is None
    assert _listed(server.address)[:2] == GOOD
    warnings = [
        line for line in server.output().splitlines() if "unreadable row of the instances table" in line
    ]
    assert len(warnings) == len(DAMAGE), warnings
    for instance_id in [i for i in DAMAGE if i != "id-not-utf8"]:
        assert sum(f'instance="{instance_id}"' in line for line in warnings) == 1, instance_id
    assert sum('instance="id-\\udcff"' in line for line in warnings) == 1, warnings
    assert all(" WARNING " in line and "table=instances" in line for line in warnings)
    assert server.error_lines() == []
    with sqlite3.connect(db) as conn:  # nothing was deleted
        stored = conn.execute("SELECT count(*) FROM instances").fetchone()[0]
    conn.close()
    assert stored == len(DAMAGE) + len(GOOD)


def test_an_instance_registering_again_replaces_its_damaged_row(
    damaged: tuple[ServerProcess, Path, list[int]],
) -> None:
    server, db, _ = damaged
    _register(server.address, "truncated-json")
    assert "truncated-json" in _listed(server.address)
    with sqlite3.connect(db) as conn:
        (endpoints,) = conn.execute(
            "SELECT endpoints FROM instances WHERE instance_id = 'truncated-json'"
        ).fetchone()
    conn.close()
    assert endpoints.startswith("[{")
    assert endpoints.endswith("}]")


def test_unreadable_events_are_skipped_by_reads_of_the_log(
    damaged: tuple[ServerProcess, Path, list[int]],
) -> None:
    server, _, sequences = damaged
    assert _events(server.address) == [sequences[0], sequences[3]]
    warnings = [line for line in server.output().splitlines() if "unreadable event" in line]
    for sequence in sequences[1:3]:
        assert sum(f"table events sequence {sequence} " in line for line in warnings) == 1, warnings
    assert server.error_lines() == []
