"""Schedules on the virtual clock: exactly the expected executions, across a worker restart
(missed ticks: the latest fires once), and never twice for one tick with two workers racing
on one store (SQLite, and PostgreSQL when ASL_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.errors import InvalidRequest, ResourceConflict, ResourceNotFound
from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.open import open_store
from tests.service.helpers import PREFIX, machine_arn, pass_machine
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

T0 = 1_798_761_600.0  # 2027-01-01T00:00:00Z, on a minute
MINUTE = 60.0


def names(store: Store, machine: str = "tick") -> list[str]:
    found, _ = store.list_executions(machine_arn(machine), limit=1000)
    return sorted(e.name for e in found)


def service(store: Store, clock: VirtualClock) -> Service:
    # worker=False: the test fires ticks itself (no background loop), executions stay RUNNING
    return Service(store, clock=clock, config=ServiceConfig(worker=False))


async def setup(store: Store, clock: VirtualClock, expression: str = "rate(1 minute)") -> None:
    svc = service(store, clock)
    await svc.create_state_machine("tick", pass_machine())
    await svc.create_schedule("every", machine_arn("tick"), expression, input_text='{"n": 1}')
    await svc.aclose()


def test_rate_fires_each_tick_and_the_latest_missed_one_after_a_restart(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    clock = VirtualClock(T0)

    async def main() -> None:
        await setup(store, clock)
        first = service(store, clock)
        assert await first.fire_due_schedules() == []  # nothing due at creation
        for _ in range(3):
            clock.advance_to(clock.now() + MINUTE)
            assert len(await first.fire_due_schedules()) == 1
            assert await first.fire_due_schedules() == []  # the same tick again: nothing
        await first.aclose()  # the worker stops; five minutes pass
        clock.advance_to(T0 + 8 * MINUTE + 30)
        second = service(store, clock)
        [arn] = await second.fire_due_schedules()
        assert arn == f"{PREFIX}:execution:tick:every-20270101T0008Z"
        clock.advance_to(T0 + 9 * MINUTE)
        assert len(await second.fire_due_schedules()) == 1
        described = await second.describe_schedule("every")
        assert (described.last_fire, described.next_fire) == (T0 + 9 * MINUTE, T0 + 10 * MINUTE)
        execution = await second.describe_execution(arn)
        assert execution.input == {"n": 1}
        await second.aclose()

    asyncio.run(main())
    assert names(store) == [
        "every-20270101T0001Z",
        "every-20270101T0002Z",
        "every-20270101T0003Z",
        "every-20270101T0008Z",  # 4..7 were missed while no worker ran: skipped
        "every-20270101T0009Z",
    ]
    store.close()


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), POSTGRES_PARAM])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
        return
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        yield scoped


def test_two_workers_never_fire_one_tick_twice(shared_url: str) -> None:
    stores = [open_store(shared_url), open_store(shared_url)]
    clock = VirtualClock(T0)

    async def main() -> None:
        await setup(stores[0], clock)
        workers = [service(s, clock) for s in stores]
        for _minute in range(5):
            clock.advance_to(clock.now() + MINUTE)
            await asyncio.gather(*(w.fire_due_schedules() for w in workers))
        for w in workers:
            await w.aclose()

    asyncio.run(main())
    assert names(stores[1]) == [f"every-20270101T000{m}Z" for m in range(1, 6)]
    for s in stores:
        s.close()


def test_cron_and_at_schedules_in_a_time_zone(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    clock = VirtualClock(T0)

    async def main() -> None:
        svc = service(store, clock)
        await svc.create_state_machine("tick", pass_machine())
        paris = await svc.create_schedule(
            "weekday-9", machine_arn("tick"), "cron(0 9 ? * MON-FRI *)", timezone="Europe/Paris"
        )
        assert paris.next_fire == T0 + 8 * 3600  # Friday 1 January 2027, 09:00 in Paris
        once = await svc.create_schedule(
            "once", machine_arn("tick"), "at(2027-01-01T00:30:00)", timezone="UTC"
        )
        assert once.next_fire == T0 + 30 * MINUTE
        clock.advance_to(T0 + 31 * MINUTE)
        assert len(await svc.fire_due_schedules()) == 1
        assert (await svc.describe_schedule("once")).next_fire is None
        clock.advance_to(T0 + 8 * 3600)
        assert len(await svc.fire_due_schedules()) == 1
        after = await svc.describe_schedule("weekday-9")
        assert after.next_fire == T0 + (3 * 24 + 8) * 3600  # Monday 4 January
        await svc.aclose()

    asyncio.run(main())
    assert names(store) == ["once-20270101T0030Z", "weekday-9-20270101T0800Z"]
    store.close()


def test_pause_resume_delete_and_the_errors(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    clock = VirtualClock(T0)

    async def main() -> None:
        await setup(store, clock)
        svc = service(store, clock)
        assert (await svc.pause_schedule("every")).schedule_state == "DISABLED"
        clock.advance_to(T0 + 5 * MINUTE + 1)
        assert await svc.fire_due_schedules() == []
        resumed = await svc.resume_schedule("every")
        assert (resumed.schedule_state, resumed.next_fire) == ("ENABLED", T0 + 6 * MINUTE)
        with pytest.raises(ResourceConflict, match=r"^Schedule every already exists\.$"):
            await svc.create_schedule("every", machine_arn("tick"), "rate(5 minutes)")
        with pytest.raises(InvalidRequest, match=r"^Invalid Schedule Expression rate\(1 minutes\)"):
            await svc.create_schedule("bad", machine_arn("tick"), "rate(1 minutes)")
        with pytest.raises(InvalidRequest, match=r"^Invalid ScheduleExpressionTimezone Mars/X"):
            await svc.create_schedule("bad", machine_arn("tick"), "rate(2 days)", timezone="Mars/X")
        with pytest.raises(InvalidRequest, match=r"^Invalid schedule name 'a b'"):
            await svc.create_schedule("a b", machine_arn("tick"), "rate(2 days)")
        with pytest.raises(ResourceNotFound):
            await svc.create_schedule("x", machine_arn("nope"), "rate(2 days)")
        await svc.delete_schedule("every")
        with pytest.raises(ResourceNotFound, match=r"^Schedule every does not exist\.$"):
            await svc.delete_schedule("every")
        assert await svc.list_schedules() == []
        await svc.aclose()

    asyncio.run(main())
    store.close()


def test_a_worker_run_until_idle_fires_the_due_tick_and_runs_it(tmp_path: Path) -> None:
    # `asl worker --until-idle` (a cron job's worker) fired no schedule: ticks only fired from
    # the long-running loop, so a due tick waited for a daemon.
    store = open_store(f"sqlite:///{tmp_path}/a.db")
    clock = VirtualClock(T0)

    async def main() -> None:
        await setup(store, clock)
        clock.advance_to(T0 + 2 * MINUTE + 5)
        worker = Service(store, clock=clock, config=ServiceConfig(worker=True))
        [arn] = await worker.run_until_idle()
        assert arn == f"{PREFIX}:execution:tick:every-20270101T0002Z"
        done = await worker.describe_execution(arn)
        assert (done.status, done.output) == ("SUCCEEDED", {"n": 1})
        assert await worker.run_until_idle() == []  # the tick fired once
        await worker.aclose()

    asyncio.run(main())
    assert names(store) == ["every-20270101T0002Z"]
    store.close()
