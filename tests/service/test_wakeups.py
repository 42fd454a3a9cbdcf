"""Processes sharing a PostgreSQL store wake each other (LISTEN/NOTIFY) instead of polling.

Two services stand for two processes on one database: `api` records starts and stops and
drives nothing; `worker` drives executions and polls the store only once a minute, so what it
does within the bound it did because it was woken. Needs ASL_TEST_POSTGRES_URL (else skipped);
SQLite and memory stores have no wake-ups (`listen` answers None) and keep polling.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from engine.runtime.clock import RealClock
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from engine.store.sql import SqlStore
from tests.service.helpers import BOUND_SECONDS, text, truth, until
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url
from tests.store.test_contract import execution

WAIT_A_DAY = text(
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}}}
)


@pytest.mark.parametrize("kind", [POSTGRES_PARAM])
def test_a_start_and_a_stop_from_another_process_reach_the_worker_at_once(kind: str) -> None:
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        asyncio.run(_stop_across_processes(scoped))


async def _stop_across_processes(url: str) -> None:
    api_store, worker_store = open_store(url), open_store(url)
    api = Service(api_store, clock=RealClock(), config=ServiceConfig(worker=False))
    worker = Service(
        worker_store,
        clock=RealClock(),
        config=ServiceConfig(worker=True, poll_seconds=60.0),
    )
    worker.worker.worker_id = "other-process"
    try:
        worker.start()
        assert isinstance(worker_store, SqlStore)
        await until(lambda: truth(all(lis.connected.is_set() for lis in worker_store.listeners)))
        machine, _ = await api.create_state_machine("waits", WAIT_A_DAY)
        # recorded by the API process, unleased: its NOTIFY wakes the worker (its poll is a
        # minute away, its first round long done)
        started = await api.start_execution(machine.arn, name="e1")
        await until(lambda: truth(started.arn in worker.runtime.executions))
        await api.stop_execution(started.arn, error="Halt", cause="from the API process")
        async with asyncio.timeout(BOUND_SECONDS):  # its poll is a minute away
            finish = await worker.runtime.wait(started.arn)
        assert (finish.status, finish.error, finish.cause) == (
            "ABORTED",
            "Halt",
            "from the API process",
        )
        described = await api.describe_execution(started.arn)
        assert described.status == "ABORTED"
    finally:
        await worker.aclose()
        await api.aclose()
        api_store.close()
        worker_store.close()


def test_stores_without_notifications_say_so(tmp_path: Path) -> None:
    sqlite = open_store(f"sqlite:///{tmp_path}/asl.db")
    try:
        assert sqlite.listen(lambda kind: None) is None
        assert MemoryStore().listen(lambda kind: None) is None
    finally:
        sqlite.close()


@pytest.mark.parametrize("kind", [POSTGRES_PARAM])
def test_the_listener_hears_starts_events_and_releases_and_stops_on_close(kind: str) -> None:
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        store = open_store(scoped)
        assert isinstance(store, SqlStore)
        heard: list[str] = []
        arrived = threading.Condition()

        def wake(message: str) -> None:
            with arrived:
                heard.append(message)
                arrived.notify_all()

        stop = store.listen(wake)
        assert stop is not None
        try:
            assert store.listeners[0].connected.wait(BOUND_SECONDS)
            record, _ = store.create_execution(execution("n1"))  # unleased: a worker should
            with arrived:
                assert arrived.wait_for(lambda: "claim" in heard, BOUND_SECONDS)
            heard.clear()
            store.post_event(record.arn, {"kind": "stop"})
            with arrived:
                assert arrived.wait_for(lambda: "events" in heard, BOUND_SECONDS)
            store.claim("w1", "host", 1, 0.0, 30.0, 10)
            store.release("w1", [record.arn])
            with arrived:
                assert arrived.wait_for(lambda: "claim" in heard, BOUND_SECONDS)
        finally:
            stop()
            store.close()
        assert not store.listeners
