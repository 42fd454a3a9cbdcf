"""Failures that must stay inside one execution: sibling frames dropped mid-step, engine bugs.

Regression tests for issue 12: a Parallel or Map with a Catch or Retry crashed the interpreter
(`KeyError: 'root/0.b1'`) when an early branch or item failed, because the frames its failure
removed were still queued to run in the same step. And any exception escaping `step` is an
engine bug that must close that one execution as FAILED (States.Runtime), never reach the
caller.
"""

from __future__ import annotations

import pytest

from engine.errors import STATES_RUNTIME
from engine.interpreter.core import ENGINE_FAULT_PREFIX, StepResult, step
from engine.interpreter.frames import ExecutionStatus
from engine.interpreter.messages import CancelTimer, Finish, TaskFinished
from engine.interpreter.tasks import TaskSuccess
from tests.interpreter.helpers import (
    LAMBDA_ARN,
    Harness,
    as_json,
    check_event_chain,
    event_types,
    rendered,
    run_definition,
)

FAIL_BRANCH = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
PASS_BRANCH = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "Next": "Caught", "ResultPath": "$.error"}]
CAUGHT = {"Type": "Pass", "End": True}


def parallel(*, catch: bool = False, retry: bool = False) -> dict[str, object]:
    state: dict[str, object] = {"Type": "Parallel", "Branches": [FAIL_BRANCH, PASS_BRANCH]}
    if catch:
        state["Catch"] = CATCH_ALL
    if retry:
        state["Retry"] = [{"ErrorEquals": ["E"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    state["End"] = True
    states: dict[str, object] = {"P": state}
    if catch:
        states["Caught"] = CAUGHT
    return {"StartAt": "P", "States": states}


def mapping(*, catch: bool = False, retry: bool = False) -> dict[str, object]:
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "F"}],
                "Default": "B",
            },
            "F": {"Type": "Fail", "Error": "E", "Cause": "c"},
            "B": {"Type": "Pass", "End": True},
        },
    }
    state: dict[str, object] = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor}
    if catch:
        state["Catch"] = CATCH_ALL
    if retry:
        state["Retry"] = [{"ErrorEquals": ["E"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    state["End"] = True
    states: dict[str, object] = {"M": state}
    if catch:
        states["Caught"] = CAUGHT
    return {"StartAt": "M", "States": states}


CAUGHT_EVENTS_PARALLEL = [
    "ExecutionStarted",
    "ParallelStateEntered",
    "ParallelStateStarted",
    "FailStateEntered",
    "ParallelStateFailed",  # recorded before the Catch too (test_parallel_state_catch)
    "ParallelStateExited",
    "PassStateEntered",
    "PassStateExited",
    "ExecutionSucceeded",
]


def test_parallel_catch_when_the_first_branch_fails_before_the_second_runs() -> None:
    harness = run_definition(parallel(catch=True), {"n": 1})
    assert harness.finish == Finish(
        "SUCCEEDED", output=as_json({"n": 1, "error": {"Error": "E", "Cause": "c"}})
    )
    assert event_types(harness.history) == CAUGHT_EVENTS_PARALLEL
    check_event_chain(harness.history)


def test_parallel_retry_when_the_first_branch_fails_reruns_both_then_fails() -> None:
    harness = run_definition(parallel(retry=True))
    assert harness.finish == Finish("FAILED", error="E", cause="c")
    types = event_types(harness.history)
    assert types.count("ParallelStateStarted") == 2  # the first attempt and one retry
    assert types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]
    check_event_chain(harness.history)


def test_map_catch_when_an_early_item_fails_before_the_others_run() -> None:
    harness = run_definition(mapping(catch=True), {"items": [0, 1, 2]})
    assert harness.finish == Finish(
        "SUCCEEDED",
        output=as_json({"items": [0, 1, 2], "error": {"Error": "E", "Cause": "c"}}),
    )
    types = event_types(harness.history)
    assert types[:4] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
    ]
    assert types[-4:] == [
        "MapStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    check_event_chain(harness.history)


def test_map_retry_when_an_early_item_fails_reruns_then_fails() -> None:
    harness = run_definition(mapping(retry=True), {"items": [0, 1]})
    assert harness.finish == Finish("FAILED", error="E", cause="c")
    assert event_types(harness.history).count("MapStateStarted") == 2
    check_event_chain(harness.history)


# -- engine bugs are contained to their execution -------------------------------------------------

WAITING_TASK = {
    "StartAt": "T",
    "States": {
        "T": {"Type": "Task", "Resource": LAMBDA_ARN + "fn", "TimeoutSeconds": 30, "End": True}
    },
    "TimeoutSeconds": 600,
}


def test_an_exception_inside_step_fails_only_that_execution_with_states_runtime() -> None:
    harness = Harness.of(WAITING_TASK)
    harness.start()
    task = harness.only_task()
    before = harness.state
    # Not a TaskResult: the interpreter's own code raises on it (an engine bug, by design here).
    bogus = TaskFinished(task.frame_id, task.task_id, object(), harness.now + 1)  # type: ignore[arg-type]
    result = step(harness.machine, before, bogus)
    assert result.fault is not None
    assert "AttributeError" in result.fault
    assert result.state.status is ExecutionStatus.FAILED
    assert before.status is ExecutionStatus.RUNNING  # the input state is untouched
    [closing] = result.events
    assert (closing.id, closing.previous_event_id, closing.type) == (
        before.next_event_id,
        before.next_event_id - 1,
        "ExecutionFailed",
    )
    cause = rendered(closing)["cause"]
    assert isinstance(cause, str)
    assert cause.startswith(ENGINE_FAULT_PREFIX)
    assert "AttributeError" in cause
    assert "TaskFinished" in cause
    finish = result.commands[-1]
    assert finish == Finish("FAILED", error=STATES_RUNTIME, cause=cause)
    # Every timer the execution held is cancelled: the task timeout and the execution timeout.
    cancelled = {c.timer_id for c in result.commands if isinstance(c, CancelTimer)}
    assert cancelled == {before.frames["root"].timeout_timer_id, before.timeout_timer_id}


def test_a_closed_execution_stays_closed_whatever_arrives() -> None:
    harness = Harness.of(WAITING_TASK)
    harness.start()
    task = harness.only_task()
    harness.answer(task, TaskSuccess({"ok": True}))
    assert harness.status is ExecutionStatus.SUCCEEDED
    late = TaskFinished(task.frame_id, task.task_id, object(), harness.now)  # type: ignore[arg-type]
    result = step(harness.machine, harness.state, late)
    assert (result.state, result.events, result.commands, result.fault) == (
        harness.state,
        (),
        (),
        None,
    )


@pytest.mark.parametrize(
    "definition", [parallel(catch=True), mapping(catch=True)], ids=["parallel", "map"]
)
def test_step_never_raises_for_early_failures(definition: dict[str, object]) -> None:
    harness = run_definition(definition, {"items": [0, 1, 2, 3]})
    assert harness.finish is not None
    assert harness.finish.status == "SUCCEEDED"


# -- any time renders ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500Z"),
        (253_402_300_799.0, "9999-12-31T23:59:59.000Z"),
        (253_402_300_800.0, "+10000-01-01T00:00:00.000Z"),
        (1_001_700_000_000.0, "+33712-08-11T00:00:00.000Z"),
        (-62_135_596_800.0, "0001-01-01T00:00:00.000Z"),
    ],
)
def test_format_time_renders_every_time(epoch: float, text: str) -> None:
    """Generator finding 1: a Wait of 10**12 seconds read from the input (SecondsPath, JSONata
    Seconds) ran past the year 9999 on a virtual clock, and rendering the history raised."""
    from engine.interpreter.history import format_time

    assert format_time(epoch) == text


def test_an_engine_fault_while_starting_still_records_execution_started() -> None:
    """A bug hit on the Start event left a history of one ExecutionFailed (the unseen-case
    review found it): the history must begin with ExecutionStarted."""
    harness = Harness.of(WAITING_TASK, {"n": 1})
    bogus = TaskFinished("root", "root|task|0", object(), harness.now)  # type: ignore[arg-type]
    result = engine_fault_from(harness, bogus)
    assert [(e.id, e.previous_event_id, e.type) for e in result.events] == [
        (1, 0, "ExecutionStarted"),
        (2, 1, "ExecutionFailed"),
    ]
    assert rendered(result.events[0])["input"] == '{"n":1}'


def engine_fault_from(harness: Harness, event: TaskFinished) -> StepResult:
    from engine.interpreter.core import engine_fault

    return engine_fault(harness.state, event, RuntimeError("boom"))
