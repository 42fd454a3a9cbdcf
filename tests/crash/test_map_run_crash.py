"""Crash recovery of a Distributed Map whose items run as child executions.

A worker killed in the middle of the Map (ASL_CRASH_AT=idle_commit:N: some children closed,
one waiting on its Wait, the rest not started) loses nothing and repeats nothing: the
recovering workers resume the parent and the running child from their last commits, no
finished child runs again (each item's Task ran once, one child execution per item), and
the Map ends with every item's output. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.testing import CallLedger, CrashHarness, assert_history_ids
from engine.values import JSON
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

pytestmark = pytest.mark.slow

HANDLERS = Path(__file__).with_name("handlers.py")
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
PREFIX = "arn:aws:states:us-east-1:111111111111"
ITEMS = [1, 2, 3, 4]

FAN: JSON = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": LAMBDA + "work",
                        "Parameters": {"state": "Work", "value.$": "$"},
                        "Next": "Nap",
                    },
                    "Nap": {"Type": "Wait", "Seconds": 600, "End": True},
                },
            },
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


def children_by_status(harness: CrashHarness, map_run_arn: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tally in harness.store().map_run_tallies(map_run_arn, None, 0.0, 1000):
        counts[tally.status] = counts.get(tally.status, 0) + tally.executions
    return counts


@pytest.mark.parametrize(
    ("crash_at", "closed_before"),
    # :2: the first child on its Nap; :3: one child closed; :5: one closed, the next on its Nap
    [("idle_commit:2", 0), ("idle_commit:3", 1), ("idle_commit:5", 1)],
)
def test_a_worker_killed_mid_map_resumes_without_rerunning_finished_children(
    harness: CrashHarness, tmp_path: Path, crash_at: str, closed_before: int
) -> None:
    path = tmp_path / "fan.asl.json"
    path.write_text(json.dumps(FAN), encoding="utf-8")
    arn = harness.start(path, {"items": ITEMS}, name="p")
    crashed = harness.run_worker_until_crash(crash_at)
    assert crashed.returncode == -9
    runs = harness.store().list_map_runs(arn)
    assert [r.status for r in runs] == ["RUNNING"]
    before = children_by_status(harness, runs[0].arn)
    assert before.get("RUNNING", 0) <= 1  # MaxConcurrency 1: a child on its Nap, or none
    assert sum(before.values()) < len(ITEMS)  # killed mid-Map: some items not started yet
    assert before.get("SUCCEEDED", 0) == closed_before

    harness.recover()
    assert harness.unfinished() == []
    described = harness.describe(arn)
    assert (described["status"], json.loads(str(described["output"]))) == (
        "SUCCEEDED",
        [{"state": "Work", "value": item} for item in ITEMS],
    )
    events = harness.history(arn)
    assert_history_ids(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    # one child execution per item, each closed once; each item's Task ran once
    assert children_by_status(harness, runs[0].arn) == {"SUCCEEDED": len(ITEMS)}
    assert harness.store().get_map_run(runs[0].arn).status == "SUCCEEDED"  # type: ignore[union-attr]
    assert harness.ledger is not None
    for item in ITEMS:
        assert harness.ledger.count("work", value=item) == 1
    children, _ = harness.store().list_executions("", map_run_arn=runs[0].arn)
    for child in children:
        assert child.arn.startswith(f"{PREFIX}:execution:fan/Fan:")
        history = [e["type"] for e in harness.history(child.arn)]
        assert history[0] == "ExecutionStarted"
        assert history[-1] == "ExecutionSucceeded"
