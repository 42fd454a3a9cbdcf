"""Parallel states through `step`: branch order, failure aborting siblings, nesting, retry."""

from __future__ import annotations

from engine.interpreter.frames import ROOT_FRAME
from engine.interpreter.messages import CancelTask, Finish, InvokeTask, StartTimer
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON
from tests.interpreter.helpers import (
    LAMBDA_ARN,
    T0,
    Harness,
    chain,
    check_event_chain,
    event_types,
    run_definition,
)

FN = LAMBDA_ARN + "fn"


def task_branch(name: str, **fields: JSON) -> dict[str, JSON]:
    state: dict[str, JSON] = {"Type": "Task", "Resource": FN, "End": True, **fields}
    return {"StartAt": name, "States": {name: state}}


def pass_branch(name: str, result: JSON) -> dict[str, JSON]:
    return {"StartAt": name, "States": {name: {"Type": "Pass", "Result": result, "End": True}}}


THREE = chain(
    (
        "P",
        {
            "Type": "Parallel",
            "Branches": [
                task_branch("A", Parameters={"branch": "A", "x.$": "$.x"}),
                task_branch("B", Parameters={"branch": "B"}),
                pass_branch("C", "c"),
            ],
        },
    )
)


def test_branches_start_together_and_results_keep_branch_order() -> None:
    harness = Harness.of(THREE, {"x": 1})
    started = harness.start()
    assert [(e.id, e.previous_event_id, e.type) for e in started.events] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "TaskStateEntered"),
        (5, 4, "LambdaFunctionScheduled"),
        (6, 5, "LambdaFunctionStarted"),
        (7, 3, "TaskStateEntered"),
        (8, 7, "LambdaFunctionScheduled"),
        (9, 8, "LambdaFunctionStarted"),
        (10, 3, "PassStateEntered"),
        (11, 10, "PassStateExited"),
    ]
    a, b = harness.tasks.values()
    assert (a.frame_id, a.request.payload) == ("root/0.b0", {"branch": "A", "x": 1})
    assert (b.frame_id, b.request.payload) == ("root/0.b1", {"branch": "B"})
    harness.answer(b, "from B")  # the later branch finishes first
    done = harness.answer(a, "from A")
    assert event_types(done.events) == [
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]
    assert harness.finish == Finish("SUCCEEDED", output=["from A", "from B", "c"])
    assert list(harness.state.frames) == [ROOT_FRAME]  # finished branches are dropped
    check_event_chain(harness.history)


def test_a_failed_branch_aborts_its_running_siblings() -> None:
    harness = Harness.of(THREE, {"x": 1})
    harness.start()
    a, b = harness.tasks.values()
    failed = harness.answer(a, TaskFailure("Boom", "bad"))
    assert [(e.id, e.previous_event_id, e.type) for e in failed.events] == [
        (12, 6, "LambdaFunctionFailed"),
        # AWS marks the failed branch state aborted too (test_parallel_catch_error)
        (13, 12, "TaskStateAborted"),
        (14, 9, "TaskStateAborted"),
        (15, 3, "ParallelStateFailed"),
        (16, 15, "ExecutionFailed"),
    ]
    assert failed.commands == (CancelTask(b.task_id), Finish("FAILED", error="Boom", cause="bad"))
    assert list(failed.state.frames) == [ROOT_FRAME]
    late = harness.answer(b, "too late")
    assert (late.events, late.commands) == ((), ())


def test_a_failed_branch_is_caught_by_the_parallel() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    task_branch("A"),
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.err"}],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    harness = run_definition(definition, {"in": 1})
    assert harness.finish == Finish(
        "SUCCEEDED", output={"in": 1, "err": {"Error": "E", "Cause": "c"}}
    )
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "FailStateEntered",
        "TaskStateAborted",
        # caught: AWS still records ParallelStateFailed first (test_parallel_state_catch)
        "ParallelStateFailed",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert harness.tasks == {}


def test_a_caught_parallel_failure_records_parallel_state_failed() -> None:
    # AWS recording: LocalStack test_base_scenarios.py::test_parallel_state_catch (16-12-2023),
    # template parallel_state_catch.json5. A caught failure still closes the Parallel with
    # ParallelStateFailed before ParallelStateExited, as MapStateFailed does for a Map.
    definition = {
        "StartAt": "ParallelState",
        "States": {
            "ParallelState": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Branch1",
                        "States": {
                            "Branch1": {
                                "Type": "Fail",
                                "Error": "FailureType",
                                "Cause": "Cause description",
                            }
                        },
                    }
                ],
                "Catch": [{"ErrorEquals": ["FailureType"], "Next": "FinalCaught"}],
                "Next": "Final",
            },
            "FinalCaught": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }
    harness = run_definition(definition, {})
    assert harness.finish == Finish(
        "SUCCEEDED", output={"Error": "FailureType", "Cause": "Cause description"}
    )
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateFailed",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    check_event_chain(harness.history)


def test_a_failed_parallel_is_retried_as_a_whole() -> None:
    definition = chain(
        (
            "P",
            {
                "Type": "Parallel",
                "Branches": [task_branch("A", Parameters={"try.$": "$$.State.RetryCount"})],
                "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 3}],
            },
        )
    )
    harness = Harness.of(definition)
    harness.start()
    first = harness.only_task()
    assert (first.frame_id, first.request.payload) == ("root/0.b0", {"try": 0})
    failed = harness.answer(first, TaskFailure("E"))
    # AWS records no ParallelStateFailed before a retry: only a final failure closes the state.
    # The branch's failed Task is recorded as aborted (test_parallel_catch_error).
    assert event_types(failed.events) == ["LambdaFunctionFailed", "TaskStateAborted"]
    assert failed.commands == (StartTimer("root|retry|2", T0 + 3),)
    retried = harness.fire(harness.next_timer())
    assert event_types(retried.events) == [
        "ParallelStateStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
    ]
    # The branch's own Parameters see the branch's RetryCount (0): only the Parallel retried.
    second = harness.only_task()
    assert (second.frame_id, second.request.payload) == ("root/1.b0", {"try": 0})
    harness.answer(second, "ok")
    assert harness.finish == Finish("SUCCEEDED", output=["ok"])


def test_nested_parallel() -> None:
    # Recorded: scenarios/test_base_scenarios/test_parallel_state_nested.
    definition = {
        "StartAt": "ParallelStateL1",
        "States": {
            "ParallelStateL1": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "ParallelStateL2",
                        "States": {
                            "ParallelStateL2": {
                                "Type": "Parallel",
                                "End": True,
                                "Branches": [
                                    {
                                        "StartAt": "BranchL2",
                                        "States": {"BranchL2": {"Type": "Pass", "End": True}},
                                    }
                                ],
                            }
                        },
                    }
                ],
            }
        },
    }
    value: JSON = [[1, 2, 3], [4, 5, 6]]
    harness = run_definition(definition, value)
    assert harness.finish == Finish("SUCCEEDED", output=[[value]])
    check_event_chain(harness.history)


def test_nested_parallel_failure_aborts_the_outer_siblings() -> None:
    inner = {
        "StartAt": "Inner",
        "States": {
            "Inner": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    task_branch("Deep"),
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Deep"}}},
                ],
            }
        },
    }
    definition = chain(("Outer", {"Type": "Parallel", "Branches": [task_branch("Side"), inner]}))
    harness = Harness.of(definition)
    started = harness.start()
    assert harness.finish == Finish("FAILED", error="Deep", cause=None)
    invoked = [c.task_id for c in started.commands if isinstance(c, InvokeTask)]
    cancelled = [c.task_id for c in started.commands if isinstance(c, CancelTask)]
    assert len(invoked) == 2
    assert sorted(cancelled) == sorted(invoked)
    assert event_types(started.events).count("TaskStateAborted") == 2


def test_parallel_data_flow() -> None:
    definition = chain(
        (
            "P",
            {
                "Type": "Parallel",
                "InputPath": "$.in",
                "Parameters": {"v.$": "$.v"},
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    pass_branch("B", 2),
                ],
                "ResultSelector": {"first.$": "$[0].v", "second.$": "$[1]"},
                "ResultPath": "$.out",
                "OutputPath": "$.out",
            },
        )
    )
    harness = run_definition(definition, {"in": {"v": 1}})
    assert harness.finish == Finish("SUCCEEDED", output={"first": 1, "second": 2})
