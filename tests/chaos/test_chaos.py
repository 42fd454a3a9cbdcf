"""The chaos suite's short profile (CI): faults under load on each store, then the checks.

Each test is one run of tests/chaos/run.py on one store: executions of tests/chaos/machines.py
started at a steady rate through three real `asl worker` processes for CI_SECONDS while workers
are killed (kill -9, replaced at once) and stalled (SIGSTOP, one of them past its 30 s lease),
and, on SQLite, the file is locked from another process and its small filesystem filled up
(where user namespaces allow a tmpfs), or, on PostgreSQL, the workers' connections are
terminated. Once the faults stop, every execution must close within the bound with 0 lost,
0 duplicated history events and 0 double invocations of one attempt of a Task (check.py).
About 40 s each: the lease (30 s) sets the pace. `make chaos` runs the long profile; the
figures line of each run is printed at the end of the test run (tests/chaos/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.values import JSON
from tests.chaos.check import Figures, Started, check_history, check_ledger
from tests.chaos.conftest import remember
from tests.chaos.drive import CI_SECONDS
from tests.chaos.run import run_store
from tests.store import POSTGRES_PARAM

SEED = 7  # the fault schedule; the moments faults land still vary with the machine's load


@pytest.mark.slow
@pytest.mark.parametrize("store", [pytest.param("sqlite", id="sqlite"), POSTGRES_PARAM])
def test_faults_lose_nothing_duplicate_nothing_and_every_execution_closes(
    store: str, tmp_path: Path
) -> None:
    figures = run_store(store, tmp_path, CI_SECONDS, seed=SEED)
    remember(figures.line())

    assert figures.ok, f"{figures.report()}\n(seed {SEED}; worker logs in {tmp_path})"
    assert figures.executions > 0
    assert figures.faults["kill -9"] > 0
    assert figures.faults["SIGSTOP past lease"] == 1


# -- the checks themselves (no process): each finding is counted where it must be ---------------


def _event(id_: int, previous: int, kind: str, entered: str | None = None) -> dict[str, JSON]:
    event: dict[str, JSON] = {"id": id_, "previousEventId": previous, "type": kind}
    if entered is not None:
        event["stateEnteredEventDetails"] = {"name": entered}
    return event


CHAIN_HISTORY = [
    _event(1, 0, "ExecutionStarted"),
    _event(2, 1, "PassStateEntered", "Begin"),
    _event(3, 2, "PassStateExited"),
    _event(4, 3, "TaskStateEntered", "Reserve"),
    _event(5, 4, "LambdaFunctionScheduled"),
    _event(6, 5, "LambdaFunctionStarted"),
    _event(7, 6, "LambdaFunctionSucceeded"),
    _event(8, 7, "TaskStateExited"),
    _event(9, 8, "ExecutionSucceeded"),
]
STARTED = Started("arn:aws:states:us-east-1:111111111111:execution:chaos-chain:c", "c", "chain")


def test_a_well_formed_history_has_no_finding() -> None:
    figures = Figures(store="test")
    check_history(figures, STARTED, CHAIN_HISTORY, "SUCCEEDED")
    assert (figures.duplicated, figures.problems) == (0, [])


def test_a_task_scheduled_twice_for_one_entry_is_a_duplicate() -> None:
    again = _event(9, 4, "LambdaFunctionScheduled")  # no failure recorded in between
    history = [*CHAIN_HISTORY[:8], again, _event(10, 9, "ExecutionSucceeded")]
    figures = Figures(store="test")
    check_history(figures, STARTED, history, "SUCCEEDED")
    assert figures.duplicated == 1


def test_a_repeated_event_id_is_a_duplicate() -> None:
    figures = Figures(store="test")
    check_history(figures, STARTED, [*CHAIN_HISTORY[:8], CHAIN_HISTORY[7]], "SUCCEEDED")
    assert figures.duplicated == 1
    assert not figures.ok


def test_two_calls_of_one_attempt_are_a_double_invocation(tmp_path: Path) -> None:
    ledger = tmp_path / "calls.jsonl"
    call = {"execution": "c", "state": "Reserve", "item": None, "attempt": 0}
    retried = {**call, "attempt": 1}
    lines = [{"name": "work", "event": e, "pid": 1} for e in (call, retried, call)]
    ledger.write_text("".join(json.dumps(line) + "\n" for line in lines))
    figures = Figures(store="test")
    check_ledger(figures, ledger)
    assert (figures.invocations, figures.double_invocations) == (3, 1)
