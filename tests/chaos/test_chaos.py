"""The chaos suite's short profile (CI): faults under load on each store, then the checks.

Each test is one run of tests/chaos/run.py on one store: executions of tests/chaos/machines.py
started at a steady rate through three real `asl worker` processes for CI_SECONDS while workers
are killed (kill -9, replaced at once) and stalled (SIGSTOP, one of them past its 30 s lease),
and, on SQLite, the file is locked from another process and its small filesystem filled up
(where user namespaces allow a tmpfs), or, on PostgreSQL, the workers' connections are
terminated. Once the faults stop, every execution must close within the bound with 0 lost,
0 duplicated history events and 0 double invocations of one attempt of a Task (check.py).
About 40 s each: the lease (30 s) sets the pace. `make chaos` runs the long profile; the
figures line of each run is printed at the end of the test run (tests/chaos/tally.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.values import JSON
from tests.chaos.check import Figures, Started, check_history, check_ledger
from tests.chaos.drive import CI_SECONDS
from tests.chaos.faults import HANDLERS, REPO
from tests.chaos.machines import task
from tests.chaos.run import run_store
from tests.chaos.tally import remember
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


# -- what `make chaos` found, shrunk (regression tests: the poison rule forgave no store error) --

REFUSE_HISTORY = (
    "CREATE TRIGGER refuse BEFORE INSERT ON history "
    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)
ONE_TASK = {
    "StartAt": "Work",
    "States": {"Work": {**task("work"), "End": True}},
}


@pytest.mark.slow
@pytest.mark.parametrize("refused", [3, 5], ids=["3-drives", "5-drives"])
def test_commits_refused_by_the_store_do_not_make_an_execution_poison(
    tmp_path: Path, refused: int
) -> None:
    """The store refuses every history write (a trigger standing in for the full disk the
    chaos run had) while `refused` workers in turn claim the execution, fail to commit and are
    killed; once the store accepts writes again, it runs as if nothing happened, and its
    history ends with the event of its status."""
    database = tmp_path / "asl.db"
    env = {
        **os.environ,
        "ASL_STORE": f"sqlite:///{database}",
        "ASL_TEST_LEDGER": str(tmp_path / "calls.jsonl"),
    }
    definition = tmp_path / "one.asl.json"
    definition.write_text(json.dumps(ONE_TASK))
    asl = [sys.executable, "-m", "engine.cli"]
    started = subprocess.run(
        [*asl, "start", str(definition), "--name", "e1", "--detach"],
        env=env, capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    arn = json.loads(started.stdout)["executionArn"]
    with sqlite3.connect(database) as connection:
        connection.execute(REFUSE_HISTORY)
    for number in range(refused):
        log = tmp_path / f"worker-{number}.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [*asl, "worker", "--functions", str(HANDLERS)],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not any(said in log.read_text() for said in DROVE):
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"no drive ended in 60 s: {log.read_text()}"
                time.sleep(0.1)  # polling another process's log
        finally:
            worker.kill()
            worker.wait()
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER refuse")
    subprocess.run(
        [*asl, "worker", "--functions", str(HANDLERS), "--until-idle"],
        env=env, capture_output=True, text=True, check=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    record = json.loads(asl_json(env, "describe", arn))
    events = json.loads(asl_json(env, "history", arn))["events"]
    figures = Figures(store="sqlite")
    check_history(figures, Started(arn, "e1", "one"), events, str(record["status"]))
    assert figures.problems == []
    assert (record["status"], record.get("error")) == ("SUCCEEDED", None), record


DROVE = ("could not commit", "closed as FAILED")  # what a worker logs when its drive ends


def asl_json(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *args, "--json"],
        env=env, capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return done.stdout
