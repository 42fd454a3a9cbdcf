"""Map states through `step`: items, ItemSelector, MaxConcurrency, tolerance, retry, distributed."""

from __future__ import annotations

import re

import pytest

from engine.errors import STATES_RUNTIME
from engine.interpreter.frames import ROOT_FRAME
from engine.interpreter.messages import CancelTask, Finish, InvokeTask
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON
from tests.interpreter.helpers import (
    LAMBDA_ARN,
    MACHINE_ARN,
    Harness,
    chain,
    check_event_chain,
    echo,
    event_types,
    rendered,
    run_definition,
)

FN = LAMBDA_ARN + "fn"
TASK_PROCESSOR: dict[str, JSON] = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": FN, "End": True}},
}
PASS_PROCESSOR: dict[str, JSON] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
FAIL_ON_NEGATIVE: dict[str, JSON] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericLessThan": 0, "Next": "Bad"}],
            "Default": "Good",
        },
        "Bad": {"Type": "Fail", "Error": "Negative", "Cause": "below zero"},
        "Good": {"Type": "Pass", "End": True},
    },
}


def map_state(processor: JSON = PASS_PROCESSOR, **fields: JSON) -> dict[str, JSON]:
    return chain(("M", {"Type": "Map", "ItemProcessor": processor, **fields}))


def in_state(detail: str) -> str:
    return f"An error occurred while executing the state 'M' (entered at the event id #2). {detail}"


def test_items_path_and_item_selector_with_the_map_context() -> None:
    # Shape recorded in scenarios/test_base_scenarios/test_map_state_item_selector.
    definition = map_state(
        InputPath="$.detail",
        ItemsPath="$.shipped",
        ItemSelector={
            "index.$": "$$.Map.Item.Index",
            "value.$": "$$.Map.Item.Value",
            "partner.$": "$.partner",
            "constant": "k",
        },
        ResultPath="$.detail.out",
    )
    execution_input = {"detail": {"partner": "UQS", "shipped": ["a", "b"]}}
    harness = run_definition(definition, execution_input)
    assert harness.finish == Finish(
        "SUCCEEDED",
        output={
            "detail": {
                "partner": "UQS",
                "shipped": ["a", "b"],
                "out": [
                    {"index": 0, "value": "a", "partner": "UQS", "constant": "k"},
                    {"index": 1, "value": "b", "partner": "UQS", "constant": "k"},
                ],
            }
        },
    )


def test_results_are_in_item_order_whatever_the_completion_order() -> None:
    harness = Harness.of(map_state(TASK_PROCESSOR), [1, 2, 3])
    started = harness.start()
    assert event_types(started.events) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "MapIterationStarted",
        "MapIterationStarted",
        *["TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted"] * 3,
    ]
    assert rendered(started.events[2]) == {"length": 3}
    assert rendered(started.events[3]) == {"name": "M", "index": 0}
    tasks = list(harness.tasks.values())
    assert [t.frame_id for t in tasks] == ["root/0.0", "root/0.1", "root/0.2"]
    for task in reversed(tasks):
        harness.answer(task, {"doubled": task.request.payload * 2})  # type: ignore[operator]
    assert harness.finish == Finish(
        "SUCCEEDED", output=[{"doubled": 2}, {"doubled": 4}, {"doubled": 6}]
    )
    assert event_types(harness.history)[-4:] == [
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert list(harness.state.frames) == [ROOT_FRAME]
    check_event_chain(harness.history)


@pytest.mark.parametrize(
    ("fields", "execution_input", "limit"),
    [
        ({"MaxConcurrency": 1}, {"items": list(range(6))}, 1),
        ({"MaxConcurrency": 2}, {"items": list(range(6))}, 2),
        ({"MaxConcurrency": 4}, {"items": list(range(6))}, 4),
        ({"MaxConcurrency": 0}, {"items": list(range(6))}, 6),
        ({}, {"items": list(range(6))}, 6),
        ({"MaxConcurrencyPath": "$.limit"}, {"items": list(range(6)), "limit": 3}, 3),
    ],
    ids=["one", "two", "four", "zero-is-unlimited", "absent", "path"],
)
def test_max_concurrency_bounds_the_running_iterations(
    fields: dict[str, JSON], execution_input: JSON, limit: int
) -> None:
    definition = map_state(TASK_PROCESSOR, ItemsPath="$.items", **fields)
    harness = Harness.of(definition, execution_input)
    harness.start()
    running: list[int] = []
    answered: list[JSON] = []
    while harness.finish is None:
        running.append(len(harness.tasks))
        task = next(iter(harness.tasks.values()))
        answered.append(task.request.payload)
        harness.answer(task, task.request.payload)
    assert max(running) == limit
    assert running[0] == limit
    assert answered == list(range(6))  # iterations start in item order
    assert harness.finish == Finish("SUCCEEDED", output=list(range(6)))


def test_an_empty_array_succeeds_at_once() -> None:
    harness = run_definition(map_state(TASK_PROCESSOR), [])
    assert harness.finish == Finish("SUCCEEDED", output=[])
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert rendered(harness.history[2]) == {"length": 0}


@pytest.mark.parametrize(
    ("fields", "execution_input", "detail"),
    [
        (
            {"ItemsPath": "$.items"},
            {"items": {"a": 1}},
            "Invalid path '$.items' : The ItemsPath field must reference a JSON array, got "
            '{"a":1}',
        ),
        (
            {"MaxConcurrencyPath": "$.m", "ItemsPath": "$.items"},
            {"m": -1, "items": []},
            # AWS (test_max_concurrency_path_negative): a negative number is no type error.
            "Expected non-negative integer for MaxConcurrency, got '-1' instead.",
        ),
        # Recorded: scenarios/test_base_scenarios/
        # test_map_state_tolerated_failure_count_path.NoNumber.
        (
            {"ToleratedFailureCountPath": "$.t", "ItemsPath": "$.items"},
            {"t": "NoNumber", "items": [0]},
            'The ToleratedFailureCountPath field refers to value "NoNumber" which is not a valid '
            "integer: $.t",
        ),
    ],
    ids=["items-not-array", "max-concurrency-negative", "tolerated-count-not-number"],
)
def test_map_field_failures(fields: dict[str, JSON], execution_input: JSON, detail: str) -> None:
    harness = run_definition(map_state(**fields), execution_input)
    assert harness.finish == Finish("FAILED", error=STATES_RUNTIME, cause=in_state(detail))


def test_an_iteration_failure_fails_the_map_and_aborts_the_others() -> None:
    harness = Harness.of(map_state(TASK_PROCESSOR), [1, 2, 3])
    harness.start()
    first, second, third = harness.tasks.values()
    harness.answer(second, "ok")
    failed = harness.answer(first, TaskFailure("Boom", "bad"))
    assert event_types(failed.events) == [
        "LambdaFunctionFailed",
        "MapIterationFailed",
        "MapIterationAborted",
        "TaskStateAborted",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    assert rendered(failed.events[2]) == {"name": "M", "index": 2}
    assert failed.commands == (
        CancelTask(third.task_id),
        Finish("FAILED", error="Boom", cause="bad"),
    )
    assert list(failed.state.frames) == [ROOT_FRAME]


@pytest.mark.parametrize(
    ("fields", "items", "status", "output"),
    [
        ({"ToleratedFailureCount": 1}, [1, -1, 2], "SUCCEEDED", None),
        ({"ToleratedFailureCount": 1}, [1, -1, -2], "FAILED", None),
        ({"ToleratedFailureCount": 0}, [1, -1], "FAILED", None),
        ({"ToleratedFailurePercentage": 50}, [1, -1, -2, 3], "SUCCEEDED", None),
        ({"ToleratedFailurePercentage": 50}, [1, -1, -2, -3], "FAILED", None),
        ({"ToleratedFailurePercentage": 100}, [-1, -2], "SUCCEEDED", None),
        # With both, the lower limit applies: min(3, floor(4 * 25%) = 1).
        (
            {"ToleratedFailureCount": 3, "ToleratedFailurePercentage": 25},
            [-1, -2, 1, 2],
            "FAILED",
            None,
        ),
    ],
    ids=[
        "count-within",
        "count-exceeded",
        "count-zero",
        "percentage-within",
        "percentage-exceeded",
        "percentage-all",
        "lower-of-both",
    ],
)
def test_tolerated_failures(
    fields: dict[str, JSON], items: list[int], status: str, output: JSON
) -> None:
    definition = map_state(FAIL_ON_NEGATIVE, MaxConcurrency=1, **fields)
    harness = run_definition(definition, items)
    assert harness.finish is not None
    if status == "SUCCEEDED":
        # A tolerated failed iteration contributes its error output, in item order.
        expected: list[JSON] = [
            item if item >= 0 else {"Error": "Negative", "Cause": "below zero"} for item in items
        ]
        assert harness.finish == Finish("SUCCEEDED", output=expected)
    else:
        assert harness.finish == Finish(
            "FAILED",
            error="States.ExceedToleratedFailureThreshold",
            cause="The specified tolerated failure threshold was exceeded",
        )


def test_without_tolerance_the_iteration_error_is_the_map_error() -> None:
    # Recorded: scenarios/test_base_scenarios/test_map_state_break_condition.
    harness = run_definition(map_state(FAIL_ON_NEGATIVE, MaxConcurrency=1), [3, -1, 4])
    assert harness.finish == Finish("FAILED", error="Negative", cause="below zero")
    assert event_types(harness.history).count("MapIterationStarted") == 2


def test_a_failed_map_is_retried_as_a_whole_and_caught() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": TASK_PROCESSOR,
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "try.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    harness = Harness.of(definition, [7])
    harness.start()
    first = harness.only_task()
    assert (first.frame_id, first.request.payload) == ("root/0.0", {"v": 7, "try": 0})
    harness.answer(first, TaskFailure("E", "once"))
    harness.fire(harness.next_timer())
    second = harness.only_task()
    assert (second.frame_id, second.request.payload) == ("root/1.0", {"v": 7, "try": 1})
    harness.answer(second, TaskFailure("E", "twice"))
    assert harness.finish == Finish("SUCCEEDED", output={"Error": "E", "Cause": "twice"})
    types = event_types(harness.history)
    assert types.count("MapStateStarted") == 2
    # MapStateFailed only once, when the failure is final (not before the retry).
    assert types.count("MapStateFailed") == 1
    assert types[-5:] == [
        "MapStateFailed",
        "MapStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_map_result_selector_and_output_path() -> None:
    definition = map_state(
        ResultSelector={"count.$": "States.ArrayLength($)", "all.$": "$"},
        ResultPath="$.r",
        OutputPath="$.r",
        ItemsPath="$.xs",
    )
    harness = run_definition(definition, {"xs": ["a", "b"]})
    assert harness.finish == Finish("SUCCEEDED", output={"count": 2, "all": ["a", "b"]})


# -- Distributed Map ---------------------------------------------------------------------------

DISTRIBUTED: dict[str, JSON] = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    **TASK_PROCESSOR,
}


def test_distributed_map_records_a_map_run_and_keeps_children_out_of_the_history() -> None:
    # Recorded: scenarios/test_base_scenarios/test_map_state_config_distributed_item_selector.
    definition = chain(
        (
            "M",
            {
                "Type": "Map",
                "Label": "Thumbs",
                "ItemProcessor": DISTRIBUTED,
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "all.$": "$"},
            },
        )
    )
    harness = Harness.of(definition, ["a", "b"])
    started = harness.start()
    assert event_types(started.events) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
    ]
    map_run_arn = str(rendered(started.events[3])["mapRunArn"])
    prefix = MACHINE_ARN.replace(":stateMachine:", ":mapRun:") + "/Thumbs:"
    assert map_run_arn.startswith(prefix)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        map_run_arn[len(prefix) :],
    )
    invoked = [c for c in started.commands if isinstance(c, InvokeTask)]
    assert [c.request.payload for c in invoked] == [
        {"v": "a", "all": ["a", "b"]},
        {"v": "b", "all": ["a", "b"]},
    ]
    harness.run(echo)
    assert harness.finish == Finish(
        "SUCCEEDED", output=[{"v": "a", "all": ["a", "b"]}, {"v": "b", "all": ["a", "b"]}]
    )
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    check_event_chain(harness.history)


def test_distributed_map_failure_records_map_run_failed() -> None:
    definition = chain(
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    **FAIL_ON_NEGATIVE,
                },
            },
        )
    )
    harness = run_definition(definition, [1, -1])
    assert harness.finish == Finish("FAILED", error="Negative", cause="below zero")
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
