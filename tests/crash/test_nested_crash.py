"""Crash recovery of nested executions: a worker killed while a `.sync:2` child runs.

The parent's Task waits on a token (nothing in flight), the child on a Wait; a worker killed then
(ASL_CRASH_AT=idle_commit:N, at a quiet commit), or right after the commit that closed the
child, loses nothing: the recovering workers resume both, the child's close answered the
parent's token in its own commit, and the parent ends with the child's output as JSON, each task
run once. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.service import Service, ServiceConfig
from engine.testing import CallLedger, CrashHarness, assert_history_ids
from engine.values import JSON
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

pytestmark = pytest.mark.slow

HANDLERS = Path(__file__).with_name("handlers.py")
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
CHILD_MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:child"

CHILD: JSON = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": LAMBDA + "work",
            "Parameters": {"state": "Work", "attempt": 0, "value.$": "$"},
            "Next": "Nap",
        },
        "Nap": {"Type": "Wait", "Seconds": 600, "End": True},
    },
}
PARENT: JSON = {
    "StartAt": "Nest",
    "States": {
        "Nest": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": CHILD_MACHINE,
                "Input": {"order.$": "$.order"},
                "Name": "kid",
            },
            "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status"},
            "End": True,
        }
    },
}


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), POSTGRES_PARAM])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CrashHarness]:
    ledger = CallLedger(tmp_path / "calls.jsonl")
    if request.param == "sqlite":
        with CrashHarness(f"sqlite:///{tmp_path / 'asl.db'}", [HANDLERS], ledger) as running:
            yield running
        return
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped, CrashHarness(scoped, [HANDLERS], ledger) as running:
        yield running


def register_child(harness: CrashHarness) -> None:
    """CreateStateMachine of the child on the harness's store, with no execution of its own
    (a run of it would take crash points of its own: `asl start` would record one)."""

    async def create() -> None:
        async with Service(harness.store(), config=ServiceConfig(worker=False)) as service:
            await service.create_state_machine("child", json.dumps(CHILD))

    asyncio.run(create())


def write(tmp_path: Path, name: str, definition: JSON) -> Path:
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("crash_at", "child_then"),
    [
        ("idle_commit:1", "RUNNING"),
        ("idle_commit:2", "RUNNING"),
        # killed after the commit that closed the child and queued its answer, before the
        # parent applied it: the answer is in the store, so the recovering worker applies it
        ("idle_commit:3", "SUCCEEDED"),
    ],
)
def test_a_worker_killed_while_the_child_runs_loses_nothing(
    harness: CrashHarness, tmp_path: Path, crash_at: str, child_then: str
) -> None:
    register_child(harness)
    arn = harness.start(write(tmp_path, "parent", PARENT), {"order": 7}, name="p")
    crashed = harness.run_worker_until_crash(crash_at)
    assert crashed.returncode == -9
    kid = "arn:aws:states:us-east-1:111111111111:execution:child:kid"
    # killed while the parent waits on its token (the child on its Wait, or just closed)
    assert harness.describe(kid)["status"] == child_then
    assert [e["type"] for e in harness.history(arn)][-1] == "TaskSubmitted"
    harness.recover()
    assert harness.unfinished() == []
    described = harness.describe(arn)
    assert (described["status"], json.loads(str(described["output"]))) == (
        "SUCCEEDED",
        {"out": {"state": "Work", "value": {"order": 7}}, "status": "SUCCEEDED"},
    )
    events = harness.history(arn)
    assert_history_ids(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    child = harness.describe(kid)
    assert child["status"] == "SUCCEEDED"
    assert harness.ledger is not None
    assert harness.ledger.count("work", value={"order": 7}) == 1  # the child's task ran once


@pytest.mark.parametrize(
    ("crash_at", "child_then"),
    [
        ("before_task:1", None),  # killed before the start: no child yet
        ("after_task:1", "RUNNING"),  # killed after the start, before its result was written
    ],
)
def test_a_retried_start_waits_for_the_child_an_earlier_attempt_started(
    harness: CrashHarness, tmp_path: Path, crash_at: str, child_then: str | None
) -> None:
    """The start's outcome is lost with the worker (at-most-once: the Task fails with
    States.TaskFailed); its Retry starts `kid` again. When the lost attempt had started it,
    StartExecution is idempotent (same name and input) and the retried Task waits for that
    child's answer, which comes with the lost attempt's token."""
    retried = json.loads(json.dumps(PARENT))
    retried["States"]["Nest"]["Retry"] = [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 1}
    ]
    register_child(harness)
    arn = harness.start(write(tmp_path, "parent", retried), {"order": 7}, name="p")
    crashed = harness.run_worker_until_crash(crash_at)
    assert crashed.returncode == -9
    kid = "arn:aws:states:us-east-1:111111111111:execution:child:kid"
    found = harness.store().get_execution(kid)
    assert (found.status if found is not None else None) == child_then
    harness.recover()

    assert harness.unfinished() == []
    described = harness.describe(arn)
    assert (described["status"], json.loads(str(described["output"]))) == (
        "SUCCEEDED",
        {"out": {"state": "Work", "value": {"order": 7}}, "status": "SUCCEEDED"},
    )
    events = harness.history(arn)
    assert_history_ids(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",  # the lost start (States.TaskFailed), retried
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert harness.ledger is not None
    assert harness.ledger.count("work", value={"order": 7}) == 1  # one child, run once
