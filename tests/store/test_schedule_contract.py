"""The `ScheduleStore` contract on every store: schedules and the compare-and-set that fires
a tick once (memory, SQLite, PostgreSQL when ASL_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from engine.store.base import ScheduleRecord, Store
from tests.store import test_contract as contract

store = contract.store
postgres_store_url = contract.postgres_store_url
MACHINE = contract.MACHINE


def schedule(name: str, next_fire: float | None = 60.0) -> ScheduleRecord:
    return ScheduleRecord(
        name, MACHINE, "rate(1 minute)", "UTC", {"n": 1}, "ENABLED", 0.0, 0.0, next_fire
    )


def test_create_once_read_list_and_delete(store: Store) -> None:
    assert store.create_schedule(schedule("b"))
    assert store.create_schedule(schedule("a"))
    assert not store.create_schedule(replace(schedule("a"), expression="rate(2 days)"))
    assert store.get_schedule("a") == schedule("a")
    assert [s.name for s in store.list_schedules()] == ["a", "b"]
    assert store.delete_schedule("a")
    assert not store.delete_schedule("a")
    assert store.get_schedule("a") is None


def test_due_schedules_are_enabled_and_at_or_before_now(store: Store) -> None:
    store.create_schedule(schedule("early", 30.0))
    store.create_schedule(schedule("exact", 60.0))
    store.create_schedule(schedule("late", 90.0))
    store.create_schedule(schedule("done", None))
    store.create_schedule(replace(schedule("paused", 10.0), schedule_state="DISABLED"))
    assert [s.name for s in store.due_schedules(60.0)] == ["early", "exact"]


def test_advance_is_a_compare_and_set(store: Store) -> None:
    store.create_schedule(schedule("a", 60.0))
    assert store.advance_schedule("a", 60.0, 120.0, 60.0)
    assert not store.advance_schedule("a", 60.0, 120.0, 60.0)  # already moved on
    assert (store.get_schedule("a") or schedule("x")).next_fire == 120.0
    assert store.update_schedule(replace(schedule("a", 120.0), schedule_state="DISABLED"))
    assert not store.advance_schedule("a", 120.0, 180.0, 120.0)  # paused
    assert not store.update_schedule(schedule("nobody"))


def test_of_racing_advances_exactly_one_wins(store: Store) -> None:
    store.create_schedule(schedule("a", 60.0))
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda _: store.advance_schedule("a", 60.0, 120.0, 60.0), range(8)))
    assert won.count(True) == 1
