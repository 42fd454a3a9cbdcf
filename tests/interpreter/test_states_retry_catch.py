"""Retry and Catch through `step`: the exact back-off schedule, retrier choice, catch output.

AWS's rules ("Error handling in Step Functions"): Retry is consulted before Catch; the first
retrier whose ErrorEquals matches is used and keeps its own attempt counter; the delay before
retry n (0-based) is IntervalSeconds * BackoffRate^n, capped by MaxDelaySeconds, and uniform in
[0, delay] with JitterStrategy FULL; States.Runtime is never retried or caught.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from engine.errors import STATES_RUNTIME, STATES_TIMEOUT
from engine.interpreter.messages import CancelTimer, Finish, StartTimer
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.values import JSON
from tests.interpreter.helpers import (
    LAMBDA_ARN,
    T0,
    Definition,
    Harness,
    chain,
    event_types,
    rendered,
)

FN = LAMBDA_ARN + "fn"


def task_with(retry: object = None, catch: object = None, **fields: object) -> dict[str, object]:
    state: dict[str, object] = {"Type": "Task", "Resource": FN, **fields}
    if retry is not None:
        state["Retry"] = retry
    if catch is not None:
        state["Catch"] = catch
    return state


def drive(
    definition: Definition,
    results: Sequence[TaskResult],
    *,
    execution_input: JSON = None,
    seed: int = 0,
) -> tuple[Harness, list[float]]:
    """Answer the task with `results` in turn; returns the harness and every retry delay."""
    harness = Harness.of(definition, execution_input, seed=seed)
    harness.start()
    delays: list[float] = []
    for result in results:
        step = harness.answer(harness.only_task(), result)
        retries = [
            c for c in step.commands if isinstance(c, StartTimer) and "|retry|" in c.timer_id
        ]
        if not retries:
            break
        (timer,) = retries
        delays.append(timer.due - harness.now)
        harness.fire(timer)
    return harness, delays


def failures(*errors: str) -> list[TaskResult]:
    return [TaskFailure(error, f"cause {n}") for n, error in enumerate(errors)]


@pytest.mark.parametrize(
    ("retrier", "delays"),
    [
        ({"ErrorEquals": ["E"]}, [1.0, 2.0, 4.0]),  # defaults: 1 s, rate 2.0, 3 attempts
        (
            {"ErrorEquals": ["E"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 4},
            [2, 6, 18, 54],
        ),
        (
            {
                "ErrorEquals": ["E"],
                "IntervalSeconds": 2,
                "BackoffRate": 3,
                "MaxAttempts": 4,
                "MaxDelaySeconds": 10,
            },
            [2, 6, 10, 10],
        ),
        ({"ErrorEquals": ["E"], "IntervalSeconds": 5, "BackoffRate": 1, "MaxAttempts": 2}, [5, 5]),
        ({"ErrorEquals": ["E"], "BackoffRate": 1.5, "MaxAttempts": 3}, [1.0, 1.5, 2.25]),
        ({"ErrorEquals": ["E"], "MaxAttempts": 0}, []),
        ({"ErrorEquals": ["Other"]}, []),
    ],
    ids=[
        "defaults",
        "backoff",
        "max-delay",
        "rate-one",
        "fractional-rate",
        "max-attempts-0",
        "no-match",
    ],
)
def test_retry_schedule(retrier: JSON, delays: list[float]) -> None:
    harness, seen = drive(chain(("T", task_with(retry=[retrier]))), failures(*["E"] * 6))
    assert seen == delays
    assert harness.finish == Finish("FAILED", error="E", cause=f"cause {len(delays)}")
    assert event_types(harness.history).count("LambdaFunctionScheduled") == len(delays) + 1


def test_retry_events_do_not_re_enter_the_state() -> None:
    # Recorded: scenarios/test_base_scenarios/test_lambda_invoke_with_retry_base.
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": task_with(
                retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
                catch=[{"ErrorEquals": ["States.ALL"], "Next": "HandleError"}],
                ResultSelector={"Retries.$": "$$.State.RetryCount"},
                End=True,
            ),
            "HandleError": {"Type": "Pass", "End": True},
        },
    }
    harness, delays = drive(definition, failures(*["Exception"] * 4))
    assert delays == [1.0, 2.0, 4.0]
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "TaskStateEntered",
        *["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed"] * 4,
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert harness.finish == Finish("SUCCEEDED", output={"Error": "Exception", "Cause": "cause 3"})


def test_retry_count_is_visible_to_parameters_and_the_request() -> None:
    definition = chain(
        (
            "T",
            task_with(
                retry=[{"ErrorEquals": ["E"], "MaxAttempts": 3}],
                Parameters={"attempt.$": "$$.State.RetryCount", "v.$": "$.v"},
                ResultSelector={"attempt.$": "$$.State.RetryCount", "got.$": "$"},
            ),
        )
    )
    harness = Harness.of(definition, {"v": 1})
    harness.start()
    seen: list[tuple[int, JSON]] = []
    for result in (*failures("E", "E"), TaskSuccess("ok")):
        task = harness.only_task()
        seen.append((task.request.attempt, task.request.payload))
        harness.answer(task, result)
        if harness.timers:
            harness.fire(harness.next_timer())
    assert seen == [
        (0, {"attempt": 0, "v": 1}),
        (1, {"attempt": 1, "v": 1}),
        (2, {"attempt": 2, "v": 1}),
    ]
    assert harness.finish == Finish("SUCCEEDED", output={"attempt": 2, "got": "ok"})


def test_each_retrier_keeps_its_own_counter() -> None:
    definition = chain(
        (
            "T",
            task_with(
                retry=[
                    {"ErrorEquals": ["A"], "IntervalSeconds": 1, "MaxAttempts": 2},
                    {"ErrorEquals": ["B"], "IntervalSeconds": 10, "MaxAttempts": 2},
                ]
            ),
        )
    )
    harness, delays = drive(definition, failures("A", "B", "A", "B", "A"))
    # A: 1, B: 10, A: 2, B: 20, then A's third failure exhausts A's two attempts.
    assert delays == [1.0, 10.0, 2.0, 20.0]
    assert harness.finish == Finish("FAILED", error="A", cause="cause 4")


def test_the_first_matching_retrier_wins() -> None:
    definition = chain(
        (
            "T",
            task_with(
                retry=[
                    {"ErrorEquals": ["A"], "IntervalSeconds": 3, "MaxAttempts": 1},
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 7, "MaxAttempts": 5},
                ]
            ),
        )
    )
    # A uses the first retrier only; once it is exhausted AWS does not fall through to the next.
    harness, delays = drive(definition, failures("A", "A"))
    assert delays == [3.0]
    assert harness.finish == Finish("FAILED", error="A", cause="cause 1")
    _, delays = drive(definition, failures("B", "A", "B"))
    assert delays == [7.0, 3.0, 14.0]


@pytest.mark.parametrize("seed", [0, 1, 42], ids=["seed0", "seed1", "seed42"])
def test_full_jitter_is_within_the_delay_and_deterministic_per_seed(seed: int) -> None:
    retrier = {
        "ErrorEquals": ["E"],
        "IntervalSeconds": 4,
        "BackoffRate": 2,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    }
    definition = chain(("T", task_with(retry=[retrier])))
    _, delays = drive(definition, failures(*["E"] * 6), seed=seed)
    _, again = drive(definition, failures(*["E"] * 6), seed=seed)
    assert delays == again
    assert len(delays) == 5
    for attempt, delay in enumerate(delays):
        assert 0.0 <= delay <= 4 * 2**attempt
    assert delays != [4.0, 8.0, 16.0, 32.0, 64.0]
    _, other = drive(definition, failures(*["E"] * 6), seed=seed + 1000)
    assert other != delays


@pytest.mark.parametrize(
    ("error_equals", "error", "caught"),
    [
        (["States.ALL"], "Anything", True),
        (["States.ALL"], STATES_TIMEOUT, True),
        (["States.TaskFailed"], "CustomError", True),
        (["States.TaskFailed"], STATES_TIMEOUT, False),
        (["States.TaskFailed"], "States.HeartbeatTimeout", False),
        (["States.Timeout"], "States.HeartbeatTimeout", True),
        (["States.TaskFailed"], "States.DataLimitExceeded", True),
        (["CustomError"], "CustomError", True),
        (["customerror"], "CustomError", False),
        (["A", "B"], "B", True),
        (["States.ALL"], STATES_RUNTIME, False),
        ([STATES_RUNTIME], STATES_RUNTIME, False),
    ],
    ids=[
        "all",
        "all-timeout",
        "task-failed-custom",
        "task-failed-not-timeout",
        "task-failed-not-heartbeat",
        "timeout-covers-heartbeat",
        "task-failed-covers-data-limit",
        "by-name",
        "case-sensitive",
        "second-name",
        "all-not-runtime",
        "runtime-by-name",
    ],
)
def test_catch_matching(error_equals: list[str], error: str, caught: bool) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task_with(
                catch=[{"ErrorEquals": error_equals, "Next": "Handler", "ResultPath": "$.err"}],
                End=True,
            ),
            "Handler": {"Type": "Pass", "End": True},
        },
    }
    harness, _ = drive(definition, [TaskFailure(error, "why")], execution_input={"in": 1})
    if caught:
        assert harness.finish == Finish(
            "SUCCEEDED", output={"in": 1, "err": {"Error": error, "Cause": "why"}}
        )
    else:
        assert harness.finish == Finish("FAILED", error=error, cause="why")


@pytest.mark.parametrize(
    ("result_path", "output"),
    [
        (None, {"in": 1}),
        ("$", {"Error": "E", "Cause": "c"}),
        ("$.errors.first", {"in": 1, "errors": {"first": {"Error": "E", "Cause": "c"}}}),
    ],
    ids=["null", "root", "nested"],
)
def test_catch_result_path(result_path: str | None, output: JSON) -> None:
    catcher: dict[str, JSON] = {
        "ErrorEquals": ["States.ALL"],
        "Next": "H",
        "ResultPath": result_path,
    }
    definition = {
        "StartAt": "T",
        "States": {"T": task_with(catch=[catcher], End=True), "H": {"Type": "Pass", "End": True}},
    }
    harness, _ = drive(definition, [TaskFailure("E", "c")], execution_input={"in": 1})
    assert harness.finish == Finish("SUCCEEDED", output=output)
    exited = [e for e in harness.history if e.type == "TaskStateExited"]
    assert rendered(exited[0])["name"] == "T"


def test_catch_without_cause_hands_on_only_the_error() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task_with(catch=[{"ErrorEquals": ["States.ALL"], "Next": "H"}], End=True),
            "H": {"Type": "Pass", "End": True},
        },
    }
    harness, _ = drive(definition, [TaskFailure("E")])
    assert harness.finish == Finish("SUCCEEDED", output={"Error": "E"})


def test_the_first_matching_catcher_wins_after_retries_are_exhausted() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task_with(
                retry=[{"ErrorEquals": ["E"], "MaxAttempts": 1}],
                catch=[
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["E"], "Next": "Right"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Wrong"},
                ],
                End=True,
            ),
            "Right": {"Type": "Pass", "Result": "right", "End": True},
            "Wrong": {"Type": "Pass", "Result": "wrong", "End": True},
        },
    }
    harness, delays = drive(definition, failures("E", "E"))
    assert delays == [1.0]
    assert harness.finish == Finish("SUCCEEDED", output="right")


def test_a_catch_result_path_that_cannot_be_applied_fails_the_state() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task_with(
                catch=[{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.a.b"}],
                End=True,
            ),
            "H": {"Type": "Pass", "End": True},
        },
    }
    harness, _ = drive(definition, [TaskFailure("E", "c")], execution_input={"a": 1})
    assert harness.finish is not None
    assert harness.finish.error == "States.ResultPathMatchFailure"


def test_stop_during_a_retry_back_off_cancels_the_retry_timer() -> None:
    definition = chain(("T", task_with(retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 30}])))
    harness = Harness.of(definition)
    harness.start()
    failed = harness.answer(harness.only_task(), TaskFailure("E"))
    assert failed.commands == (StartTimer("root|retry|2", T0 + 30),)
    stopped = harness.stop()
    assert event_types(stopped.events) == ["TaskStateAborted", "ExecutionAborted"]
    assert stopped.commands == (CancelTimer("root|retry|2"), Finish("ABORTED"))
