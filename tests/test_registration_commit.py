"""Registration group commit through the core's own catalog over a real SQLite file: admission
bounded per caller and in total, one log line per transaction, the stored row the same whichever
way the store builds it, and events stored in a registration's transaction taking their place
in the event log's order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from registry.core.catalog import Catalog
from registry.core.errors import Reason, Unavailable
from registry.core.event_filter import EventFilter
from registry.core.events import EventBus
from registry.core.model import Registration
from registry.store import sqlite
from registry.store.sqlite import SqliteStore
from registry.store.sqlite_events import SqliteEventLog
from tests.store.test_sqlite_store import make_instance
from tests.store.test_store_conformance import BUS_SETTINGS, SETTINGS, event, make_registration, take


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    catalog = Catalog(
        SqliteStore(tmp_path / "registry.db"),
        **SETTINGS,  # type: ignore[arg-type]
        max_pending_registrations=4,
        max_pending_registrations_per_caller=2,
    )
    await catalog.start()
    yield catalog
    await catalog.close()


def _registration(n: int) -> Registration:
    return make_registration("orders", f"orders-{n}")


async def _outcomes(catalog: Catalog, callers: list[str]) -> list[str]:
    """Register one instance per entry of `callers`, all admitted (or not) in one step before
    any commit runs: "ok" or the refusal's reason."""
    results = await asyncio.gather(
        *(catalog.register(_registration(n), caller) for n, caller in enumerate(callers)),
        return_exceptions=True,
    )
    outcomes = []
    for result in results:
        if isinstance(result, Unavailable):
            outcomes.append(f"{result.reason.value} {result.metadata['limit']}")
        elif isinstance(result, BaseException):
            raise result
        else:
            outcomes.append("ok")
    return outcomes


async def test_one_caller_cannot_take_every_registration_slot(catalog: Catalog) -> None:
    outcomes = await _outcomes(catalog, ["a", "a", "a", "b"])
    assert outcomes == ["ok", "ok", f"{Reason.REGISTRY_BUSY.value} 2", "ok"]
    assert catalog.find(("orders", "orders-2")) is None, "a refused registration changes nothing"


async def test_registrations_beyond_the_total_are_refused(catalog: Catalog) -> None:
    outcomes = await _outcomes(catalog, ["a", "a", "b", "b", "c"])
    assert outcomes == ["ok", "ok", "ok", "ok", f"{Reason.REGISTRY_BUSY.value} 4"]


async def test_the_same_registration_again_is_answered_without_a_slot_or_a_write(catalog: Catalog) -> None:
    first, created = await catalog.register(_registration(9), "a")
    assert created
    # Caller "a" fills its two slots; its re-registration of orders-9 needs none.
    again = await asyncio.gather(
        catalog.register(_registration(0), "a"),
        catalog.register(_registration(1), "a"),
        catalog.register(_registration(9), "a"),
    )
    assert again[2] == (first, False)
    assert again[2][0] is catalog.find(("orders", "orders-9")), "nothing was written"


async def test_slots_are_given_back_once_answered(catalog: Catalog) -> None:
    for _ in range(3):
        assert await _outcomes(catalog, ["a", "a", "b", "b"]) == ["ok"] * 4


async def test_a_transaction_logs_one_line_and_each_instance_only_at_debug(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="registry.core.catalog"):
        await _outcomes(catalog, ["a", "a", "b", "b"])
    lines = [r for r in caplog.records if r.getMessage() == "registered"]
    assert len(lines) == 1
    assert (lines[0].new, lines[0].updated) == (4, 0)  # type: ignore[attr-defined]
    assert lines[0].levelno == logging.INFO
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="registry.core.catalog"):
        await catalog.register(replace(_registration(0), zone="eu-1"))
    levels = sorted(r.levelname for r in caplog.records if r.getMessage() == "registered")
    assert levels == ["DEBUG", "INFO"]
    debug = next(r for r in caplog.records if r.levelno == logging.DEBUG)
    assert (debug.service, debug.instance, debug.new) == ("orders", "orders-0", False)  # type: ignore[attr-defined]


def test_the_batch_row_matches_the_named_row() -> None:
    for instance in (make_instance(), make_instance("billing", "b-1")):
        named = sqlite.instance_to_row(instance)
        batch_row = sqlite._values(instance)  # noqa: SLF001
        assert batch_row == tuple(named[column] for column in sqlite.INSTANCE_COLUMNS)


@pytest.fixture
async def store_and_bus(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, EventBus]]:
    """The catalog's store and the event bus over one file, as a single-node registry has them."""
    store = SqliteStore(tmp_path / "registry.db")
    await store.open()  # migrates the shared file
    bus = EventBus(SqliteEventLog(tmp_path / "registry.db"), BUS_SETTINGS)
    await bus.start()
    yield store, bus
    await bus.close()
    await store.close()


async def _stored(bus: EventBus, count: int) -> None:
    """Wait (bounded) until `count` events are on disk, whether or not the head shows them."""
    async with asyncio.timeout(5):
        while len(await bus.log.read_events(0, 1 << 62, 100)) < count:
            await asyncio.sleep(0.01)


async def test_events_stored_with_registrations_keep_their_place_in_the_log(
    store_and_bus: tuple[SqliteStore, EventBus],
) -> None:
    store, bus = store_and_bus
    live = await bus.subscribe(EventFilter())
    reservation = bus.reserve([event("registry.instance.started", 1), event("registry.instance.started", 2)])
    assert reservation is not None
    assert [e.sequence for e in reservation.events] == [1, 2]
    behind = asyncio.create_task(bus.publish(event("order.created", 3)))
    await _stored(bus, 1)  # the publish is durable, but its turn comes after the reservation
    assert (bus.head, behind.done()) == (0, False)
    await store.put_instances([make_instance()], reservation.events, reservation.keep_from)
    bus.settle(reservation, stored=True)
    assert (await behind).sequence == 3
    assert bus.head == 3
    assert [(e.id, e.sequence) for e in await take(live, 3)] == [("e1", 1), ("e2", 2), ("e3", 3)]
    live.close()


async def test_a_failed_reservation_holds_nothing_up(store_and_bus: tuple[SqliteStore, EventBus]) -> None:
    _, bus = store_and_bus
    reservation = bus.reserve([event("registry.instance.started", 1)])
    assert reservation is not None
    behind = asyncio.create_task(bus.publish(event("order.created", 2)))
    await _stored(bus, 1)
    bus.settle(reservation, stored=False)  # its transaction failed: the sequence is skipped
    assert (await behind).sequence == 2
    assert bus.head == 2
    assert [e.id for e in await bus.log.read_events(0, 10, 10)] == ["e2"]
