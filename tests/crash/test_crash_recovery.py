"""Crash recovery: real `asl worker` processes killed with SIGKILL at each crash point, restarted.

Each test records executions with `asl start --detach`, runs `asl worker --until-idle` with
ASL_CRASH_AT so it is killed (exit status -9), then runs plain workers until every execution is
terminal, and asserts what DESIGN.md ("Semantics the engine promises") promises: no completed
state runs twice (StateEntered per state, and the handler ledger), a Standard task whose result
was lost is not invoked again unless a Retry on States.TaskFailed opts in, history ids are
exactly 1..N, Waits and retry back-offs keep their due times; Express executions are re-run
from the start (at-least-once) and forced re-delivery gives exact, reproducible counts. Every
test runs on SQLite and on PostgreSQL (ASL_TEST_POSTGRES_URL, a fresh schema per test).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from engine.runtime.crash import Redelivery
from engine.runtime.worker import LOST_TASK_CAUSE, SYNC_LOST_CAUSE
from engine.service import Service, ServiceConfig
from engine.store.open import open_store
from engine.testing import (
    CallLedger,
    CrashHarness,
    assert_history_ids,
    entered_counts,
)
from engine.values import JSON
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

pytestmark = pytest.mark.slow

HANDLERS = Path(__file__).with_name("handlers.py")
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
RETRY_LOST = [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}]
CATCH_LOST = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Lost"}]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    POSTGRES_PARAM,
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'asl.db'}"
        return
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:  # a schema of its own: parallel tests never collide
        yield scoped


@pytest.fixture
def ledger(tmp_path: Path) -> CallLedger:
    return CallLedger(tmp_path / "calls.jsonl")


@pytest.fixture
def harness(store_url: str, ledger: CallLedger) -> Iterator[CrashHarness]:
    with CrashHarness(store_url, functions=[HANDLERS], ledger=ledger) as running:
        yield running


@pytest.fixture
def sqlite_harness(tmp_path: Path, ledger: CallLedger) -> Iterator[CrashHarness]:
    """For properties of the worker or the CLI alone, where one backend is enough."""
    url = f"sqlite:///{tmp_path / 'asl.db'}"
    with CrashHarness(url, functions=[HANDLERS], ledger=ledger) as running:
        yield running


# -- definitions ----------------------------------------------------------------------------------


def task(function: str, *, retry: bool = False, catch: bool = False, **moves: JSON) -> JSON:
    """A Task calling `function` with the state's name and retry count, then `moves`."""
    state: dict[str, JSON] = {
        "Type": "Task",
        "Resource": LAMBDA + function,
        "Parameters": {
            "state.$": "$$.State.Name",
            "attempt.$": "$$.State.RetryCount",
            "value.$": "$",
        },
        **moves,
    }
    if retry:
        state["Retry"] = RETRY_LOST
    if catch:
        state["Catch"] = CATCH_LOST
    return state


def chain(retry: bool) -> JSON:
    return {
        "StartAt": "A",
        "States": {
            "A": task("work", retry=retry, Next="B"),
            "B": task("work", retry=retry, Next="C"),
            "C": task("work", retry=retry, End=True),
        },
    }


MAP = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemSelector": {"index.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "StartAt": "T",
                "States": {"T": task("work", retry=True, End=True, OutputPath="$.value.index")},
            },
            "End": True,
        }
    },
}

# A Wait in one branch while the other branch's task is lost in the crash (and caught).
WAIT_DURING_CRASH = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Wait",
                    "States": {
                        "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Waited"},
                        "Waited": {"Type": "Pass", "Result": "waited", "End": True},
                    },
                },
                {
                    "StartAt": "T",
                    "States": {
                        "T": task("work", catch=True, End=True),
                        "Lost": {"Type": "Pass", "Result": "lost", "End": True},
                    },
                },
            ],
            "End": True,
        }
    },
}

# `Flaky` fails at once and backs off 600 s; the other branch's task is lost meanwhile.
BACKOFF_DURING_CRASH = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Flaky",
                    "States": {
                        "Flaky": {
                            **task("flaky", End=True, OutputPath="$.attempt"),
                            "Retry": [
                                {
                                    "ErrorEquals": ["Transient"],
                                    "IntervalSeconds": 600,
                                    "MaxAttempts": 1,
                                }
                            ],
                        }
                    },
                },
                {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "T"},
                        "T": task("work", catch=True, End=True),
                        "Lost": {"Type": "Pass", "Result": "lost", "End": True},
                    },
                },
            ],
            "End": True,
        }
    },
}


def write(tmp_path: Path, name: str, definition: JSON) -> Path:
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    return path


def types(events: list[dict[str, JSON]]) -> list[str]:
    return [str(e["type"]) for e in events]


def when(event: dict[str, JSON]) -> float:
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


def lost_failures(events: list[dict[str, JSON]]) -> list[dict[str, JSON]]:
    return [
        e
        for e in events
        if e["type"] == "LambdaFunctionFailed"
        and e["lambdaFunctionFailedEventDetails"]
        == {"error": "States.TaskFailed", "cause": LOST_TASK_CAUSE}
    ]


def check_recovered(harness: CrashHarness, arn: str) -> list[dict[str, JSON]]:
    """The invariants every crash test shares; returns the history."""
    assert harness.unfinished() == []
    events = harness.history(arn)
    assert_history_ids(events)
    return events


# -- Standard: the crash points -------------------------------------------------------------------

TASK = ["TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted"]
DONE = ["LambdaFunctionSucceeded", "TaskStateExited"]
LOST = ["LambdaFunctionFailed"]
RETRIED = ["LambdaFunctionScheduled", "LambdaFunctionStarted"]

CHAIN_CASES = [
    pytest.param(
        "before_task:2",
        False,
        "FAILED",
        {"A": 1},
        [*TASK, *DONE, *TASK, *LOST, "ExecutionFailed"],
        id="before_task-not-invoked",
    ),
    pytest.param(
        "before_task:2",
        True,
        "SUCCEEDED",
        {"A": 1, "B": 1, "C": 1},
        [*TASK, *DONE, *TASK, *LOST, *RETRIED, *DONE, *TASK, *DONE, "ExecutionSucceeded"],
        id="before_task-retry-opts-in",
    ),
    pytest.param(
        "after_task:2",
        False,
        "FAILED",
        {"A": 1, "B": 1},
        [*TASK, *DONE, *TASK, *LOST, "ExecutionFailed"],
        id="after_task-not-reinvoked",
    ),
    pytest.param(
        "after_task:2",
        True,
        "SUCCEEDED",
        {"A": 1, "B": 2, "C": 1},
        [*TASK, *DONE, *TASK, *LOST, *RETRIED, *DONE, *TASK, *DONE, "ExecutionSucceeded"],
        id="after_task-retry-reinvokes",
    ),
]


@pytest.mark.parametrize(("crash_at", "retry", "status", "calls", "history"), CHAIN_CASES)
def test_standard_task_lost_in_a_crash(
    harness: CrashHarness,
    ledger: CallLedger,
    tmp_path: Path,
    crash_at: str,
    retry: bool,
    status: str,
    calls: dict[str, int],
    history: list[str],
) -> None:
    arn = harness.start(write(tmp_path, "chain", chain(retry)), {"order": 1})
    report = harness.crash_and_recover(crash_at)

    assert report.crashed.returncode == -9
    assert len(report.recovered) == 1  # the dead worker's lease is taken over at once
    events = check_recovered(harness, arn)
    assert types(events) == ["ExecutionStarted", *history]
    described = harness.describe(arn)
    assert described["status"] == status
    assert ledger.counts("state") == calls
    # the lost task's outcome is recorded once; no completed state was entered again
    assert len(lost_failures(events)) == 1
    assert entered_counts(events) == ({"A": 1, "B": 1, "C": 1} if retry else {"A": 1, "B": 1})
    if status == "FAILED":
        assert (described["error"], described["cause"]) == ("States.TaskFailed", LOST_TASK_CAUSE)
    else:
        assert described["output"] == '{"state":"C","value":{"state":"B","value":' + (
            '{"state":"A","value":{"order":1}}}}'
        )


def test_crash_during_map_keeps_finished_iterations(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    items = [{"n": n} for n in range(4)]
    arn = harness.start(write(tmp_path, "map", MAP), {"items": items})
    report = harness.crash_and_recover("during_map:2")

    assert report.crashed.returncode == -9
    events = check_recovered(harness, arn)
    assert harness.describe(arn)["status"] == "SUCCEEDED"
    assert harness.describe(arn)["output"] == "[0,1,2,3]"
    # iterations 0 and 1 finished before the crash and ran once; iteration 2's start was
    # committed with the crash, never invoked, failed as lost and retried (Retry opts in)
    assert [ledger.count("work", value={"index": i}) for i in range(4)] == [1, 1, 1, 1]
    assert entered_counts(events) == {"M": 1, "T": 4}
    assert types(events).count("MapIterationSucceeded") == 4
    assert types(events).count("MapIterationStarted") == 4
    assert len(lost_failures(events)) == 1


def test_crash_during_a_wait_keeps_its_due_time(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    arn = harness.start(write(tmp_path, "wait", WAIT_DURING_CRASH), {})
    report = harness.crash_and_recover("before_task:1")

    assert report.crashed.returncode == -9
    events = check_recovered(harness, arn)
    described = harness.describe(arn)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '["waited","lost"]')
    assert ledger.count() == 0  # the task's start was committed, the crash came before the call
    assert entered_counts(events) == {"Lost": 1, "P": 1, "T": 1, "Wait": 1, "Waited": 1}
    entered = next(e for e in events if e["type"] == "WaitStateEntered")
    exited = next(e for e in events if e["type"] == "WaitStateExited")
    assert when(exited) - when(entered) >= 3600  # the committed timer, not a new one


# Task, Wait, Task: the worker is quiet (nothing in flight, everything written) while it waits.
QUIET_WAIT = {
    "StartAt": "A",
    "States": {
        "A": task("work", Next="Nap"),
        "Nap": {"Type": "Wait", "Seconds": 600, "Next": "B"},
        "B": task("work", End=True, OutputPath="$.value"),
    },
}


def test_a_worker_killed_while_quiet_leaves_nothing_to_lose(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    """ASL_CRASH_AT=idle_commit:N (what the differential tests use): killed after a commit
    that left no Task in flight, the execution resumes exactly as if nothing happened."""
    arn = harness.start(write(tmp_path, "quiet", QUIET_WAIT), {"n": 1})
    report = harness.crash_and_recover("idle_commit:1")

    assert report.crashed.returncode == -9
    events = check_recovered(harness, arn)
    described = harness.describe(arn)
    # B's output is the value it was given: what A returned
    assert (described["status"], described["output"]) == (
        "SUCCEEDED",
        '{"state":"A","value":{"n":1}}',
    )
    assert ledger.counts("state") == {"A": 1, "B": 1}  # each task once: nothing was lost
    assert lost_failures(events) == []
    assert types(events) == [
        "ExecutionStarted",
        *TASK,
        *DONE,
        "WaitStateEntered",
        "WaitStateExited",
        *TASK,
        *DONE,
        "ExecutionSucceeded",
    ]


def test_crash_during_a_retry_backoff_keeps_its_due_time(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    arn = harness.start(write(tmp_path, "backoff", BACKOFF_DURING_CRASH), {})
    report = harness.crash_and_recover("before_task:2")

    assert report.crashed.returncode == -9
    events = check_recovered(harness, arn)
    described = harness.describe(arn)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '[1,"lost"]')
    assert [(c.name, c.event) for c in ledger.calls()] == [
        ("flaky", {"state": "Flaky", "attempt": 0, "value": {}}),
        ("flaky", {"state": "Flaky", "attempt": 1, "value": {}}),
    ]
    flaky = [
        e
        for e in events
        if e.get("lambdaFunctionScheduledEventDetails", {}).get("resource") == LAMBDA + "flaky"
        or e.get("lambdaFunctionFailedEventDetails", {}).get("error") == "Transient"
    ]
    assert types(flaky) == [
        "LambdaFunctionScheduled",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduled",
    ]
    assert when(flaky[2]) - when(flaky[1]) >= 600  # the back-off survived the crash
    assert entered_counts(events) == {"Flaky": 1, "Lost": 1, "P": 1, "Pause": 1, "T": 1}


# -- Express --------------------------------------------------------------------------------------


def test_express_async_execution_reruns_from_the_start(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    arn = harness.start(write(tmp_path, "chain", chain(False)), {}, machine_type="EXPRESS")
    report = harness.crash_and_recover("after_task:1")

    assert report.crashed.returncode == -9
    assert harness.unfinished() == []
    assert harness.describe(arn)["status"] == "SUCCEEDED"
    assert ledger.counts("state") == {"A": 2, "B": 1, "C": 1}  # at-least-once: A ran twice
    # Express writes nothing while it runs: the history is the one of the run that closed,
    # each state once, although A was invoked in both runs.
    events = harness.history(arn)
    assert_history_ids(events)
    assert entered_counts(events) == {"A": 1, "B": 1, "C": 1}
    assert types(events)[-1] == "ExecutionSucceeded"


def test_express_redelivery_always_invokes_every_task_twice(
    harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    arn = harness.start(write(tmp_path, "chain", chain(False)), {}, machine_type="EXPRESS")
    run = harness.run_worker(redelivery="always")

    assert run.returncode == 0, run.describe()
    assert harness.describe(arn)["status"] == "SUCCEEDED"
    assert ledger.counts("state") == {"A": 2, "B": 2, "C": 2}


def test_express_redelivery_with_a_seed_is_reproducible(
    sqlite_harness: CrashHarness, ledger: CallLedger, tmp_path: Path
) -> None:
    path = write(tmp_path, "map", MAP)
    items = {"items": [{"n": n} for n in range(10)]}
    rng = Redelivery(0.3, 7)
    expected = 10 + sum(rng.twice() for _ in range(10))
    totals = []
    for _ in range(2):
        ledger.clear()
        sqlite_harness.start(path, items, machine_type="EXPRESS")
        run = sqlite_harness.run_worker(redelivery="p=0.3,seed=7")
        assert run.returncode == 0, run.describe()
        totals.append(ledger.count("work"))
    assert totals == [expected, expected]
    assert expected == 14  # 10 tasks, 4 of them delivered twice with this seed


# -- in process: the CLI's view, and StartSyncExecution -------------------------------------------


def test_cli_prints_what_the_harness_reads(sqlite_harness: CrashHarness, tmp_path: Path) -> None:
    arn = sqlite_harness.start(write(tmp_path, "chain", chain(False)), {"order": 2})
    assert sqlite_harness.run_worker().returncode == 0

    outputs = [
        sqlite_harness.asl("history", arn, "--json").stdout,
        sqlite_harness.asl("describe", arn, "--json").stdout,
        sqlite_harness.asl("list", "--json").stdout,
    ]
    assert [json.loads(text) for text in outputs] == [
        {"events": sqlite_harness.history(arn)},
        sqlite_harness.describe(arn),
        {"executions": sqlite_harness.executions()},
    ]


def test_sync_express_execution_is_never_rerun(store_url: str, ledger: CallLedger) -> None:
    definition = json.dumps(chain(False))
    calls = {"work": ledger.recorded(lambda event, context: event)}

    async def scenario() -> tuple[str, str | None, str | None]:
        store = open_store(store_url)
        # a process that recorded a StartSyncExecution and died before running it
        async with Service(store, config=ServiceConfig(worker=False)) as gone:
            machine, _ = await gone.create_state_machine("sync", definition, machine_type="EXPRESS")
            started = await gone.start_execution(machine.arn, input_text="{}", sync=True)
        async with Service(store, functions=calls) as service:
            await service.worker.run_until_idle()
            record = await service.describe_execution(started.arn)
        store.close()
        return record.status, record.error, record.cause

    assert asyncio.run(scenario()) == ("FAILED", "States.Runtime", SYNC_LOST_CAUSE)
    assert ledger.count() == 0
