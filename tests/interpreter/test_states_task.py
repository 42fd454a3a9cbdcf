"""Task states through `step`: the request, the result's data flow, size limit, task tokens."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_RUNTIME,
)
from engine.interpreter.frames import new_execution
from engine.interpreter.messages import (
    CancelTask,
    CancelTimer,
    Finish,
    StartTimer,
    TaskCallback,
    TaskHeartbeat,
)
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from engine.values import JSON, PAYLOAD_LIMIT_BYTES
from tests.interpreter.helpers import (
    LAMBDA_ARN,
    T0,
    Harness,
    chain,
    compile_definition,
    event_types,
    make_info,
    rendered,
)

FN = LAMBDA_ARN + "fn"
INPUT: dict[str, JSON] = {"order": {"id": 7, "lines": [{"sku": "A"}, {"sku": "B"}]}, "k": "v"}
RESULT: dict[str, JSON] = {"Payload": {"total": 12, "items": [1, 2]}, "StatusCode": 200}


def in_state(name: str, detail: str, entered: int = 2) -> str:
    return (
        f"An error occurred while executing the state '{name}' "
        f"(entered at the event id #{entered}). {detail}"
    )


TASK_CASES: list[tuple[str, dict[str, JSON], JSON, JSON]] = [
    ("defaults", {}, INPUT, RESULT),
    ("input-path", {"InputPath": "$.order"}, INPUT["order"], RESULT),
    (
        "parameters",
        {"Parameters": {"id.$": "$.order.id", "skus.$": "$.order.lines[*].sku", "c": 1}},
        {"id": 7, "skus": ["A", "B"], "c": 1},
        RESULT,
    ),
    (
        "parameters-context",
        {"Parameters": {"state.$": "$$.State.Name", "try.$": "$$.State.RetryCount"}},
        {"state": "T", "try": 0},
        RESULT,
    ),
    (
        "result-selector",
        {"ResultSelector": {"total.$": "$.Payload.total", "code.$": "$.StatusCode"}},
        INPUT,
        {"total": 12, "code": 200},
    ),
    (
        "result-selector-intrinsic",
        {"ResultSelector": {"n.$": "States.ArrayLength($.Payload.items)"}},
        INPUT,
        {"n": 2},
    ),
    ("result-path-null", {"ResultPath": None}, INPUT, INPUT),
    (
        "result-path-nested",
        {"ResultPath": "$.order.result"},
        INPUT,
        {"order": {**INPUT["order"], "result": RESULT}, "k": "v"},  # type: ignore[dict-item]
    ),
    (
        "selector-then-path-then-output",
        {
            "ResultSelector": {"total.$": "$.Payload.total"},
            "ResultPath": "$.res",
            "OutputPath": "$.res.total",
        },
        INPUT,
        12,
    ),
    ("output-path-null", {"OutputPath": None}, INPUT, {}),
]


@pytest.mark.parametrize(
    ("fields", "payload", "output"),
    [case[1:] for case in TASK_CASES],
    ids=[case[0] for case in TASK_CASES],
)
def test_task_data_flow(fields: dict[str, JSON], payload: JSON, output: JSON) -> None:
    harness = Harness.of(chain(("T", {"Type": "Task", "Resource": FN, **fields})), INPUT)
    harness.start()
    task = harness.only_task()
    assert task.request.payload == payload
    done = harness.answer(task, RESULT)
    assert harness.finish == Finish("SUCCEEDED", output=output)
    # The Succeeded event carries the raw result, before ResultSelector.
    assert json.loads(str(rendered(done.events[0])["output"])) == RESULT


def test_result_selector_failure_is_states_runtime_in_the_state() -> None:
    definition = chain(
        ("T", {"Type": "Task", "Resource": FN, "ResultSelector": {"x.$": "$.missing"}})
    )
    harness = Harness.of(definition)
    harness.start()
    harness.answer(harness.only_task(), {"a": 1})
    assert harness.finish == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause=in_state(
            "T",
            "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the "
            "input '{\"a\":1}'",
        ),
    )


def test_states_runtime_from_the_output_path_is_not_caught() -> None:
    # Recorded: scenarios/test_base_scenarios/test_catch_states_runtime.
    definition = {
        "StartAt": "RaiseRuntime",
        "States": {
            "RaiseRuntime": {
                "Type": "Task",
                "Resource": FN,
                "OutputPath": "$.no.such.result.path",
                "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "CaughtRuntime"}],
                "Next": "Final",
            },
            "CaughtRuntime": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }
    harness = Harness.of(definition)
    harness.start()
    harness.answer(harness.only_task(), {})
    assert harness.finish == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause=in_state(
            "RaiseRuntime",
            "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
        ),
    )
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "ExecutionFailed",
    ]


@pytest.mark.parametrize(
    ("resource", "name", "failed_type"),
    [
        # Recorded: error_handling/test_states_errors/*data_limit_exceeded_on_large_utf8_response.
        (FN, FN, "LambdaFunctionFailed"),
        ("arn:aws:states:::lambda:invoke", "lambda", "TaskFailed"),
    ],
    ids=["lambda-arn", "lambda-invoke"],
)
def test_a_result_over_256_kib_is_data_limit_exceeded(
    resource: str, name: str, failed_type: str
) -> None:
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"FunctionName": "fn", "Payload": {}},
                "Catch": [{"ErrorEquals": [STATES_DATA_LIMIT_EXCEEDED], "Next": "Handle"}],
                "End": True,
            },
            "Handle": {"Type": "Pass", "End": True},
        },
    }
    harness = Harness.of(definition)
    harness.start()
    harness.answer(harness.only_task(), "x" * PAYLOAD_LIMIT_BYTES)
    cause = (
        f"The state/task '{name}' returned a result with a size exceeding the maximum number of "
        "bytes service limit."
    )
    assert harness.finish == Finish(
        "SUCCEEDED", output={"Error": STATES_DATA_LIMIT_EXCEEDED, "Cause": cause}
    )
    assert event_types(harness.history)[4:6] == [failed_type, "TaskStateExited"]


def test_a_result_of_exactly_the_limit_is_accepted() -> None:
    harness = Harness.of(chain(("T", {"Type": "Task", "Resource": FN})))
    harness.start()
    value = "x" * (PAYLOAD_LIMIT_BYTES - 2)  # two bytes of JSON quotes
    harness.answer(harness.only_task(), value)
    assert harness.finish == Finish("SUCCEEDED", output=value)


def test_timeout_seconds_path_must_be_positive() -> None:
    definition = chain(("T", {"Type": "Task", "Resource": FN, "TimeoutSecondsPath": "$.t"}))
    harness = Harness.of(definition, {"t": 0})
    harness.start()
    assert harness.finish == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause=in_state("T", "The value of $.t must be a positive integer, got 0"),
    )


# -- .waitForTaskToken ----------------------------------------------------------------------

CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "ask",
                "Payload": {"token.$": "$$.Task.Token", "who.$": "$.who"},
            },
            "HeartbeatSeconds": 60,
            "TimeoutSeconds": 600,
            "End": True,
        }
    },
}


def _token_harness() -> tuple[Harness, str]:
    harness = Harness.of(CALLBACK, {"who": "ann"})
    started = harness.start()
    task = harness.only_task()
    token = task.request.task_token
    assert token is not None
    assert task.request.payload == {
        "FunctionName": "ask",
        "Payload": {"token": token, "who": "ann"},
    }
    assert task.request.heartbeat_seconds == 60.0
    assert started.commands[1:] == (
        StartTimer("root|timeout|2", T0 + 600),
        StartTimer("root|heartbeat|3", T0 + 60),
    )
    assert rendered(started.events[2]) == {
        "resourceType": "lambda",
        "resource": "invoke.waitForTaskToken",
        "region": "us-east-1",
        "parameters": json.dumps(task.request.payload, separators=(",", ":")),
        "timeoutInSeconds": 600,
        "heartbeatInSeconds": 60,
    }
    return harness, token


def test_wait_for_task_token_submits_then_completes_on_callback() -> None:
    harness, token = _token_harness()
    submitted = harness.answer(harness.only_task(), {"StatusCode": 200})
    assert event_types(submitted.events) == ["TaskSubmitted"]
    assert submitted.commands == ()
    beat = harness.feed(TaskHeartbeat(token, T0 + 50))
    assert beat.commands == (
        CancelTimer("root|heartbeat|3"),
        StartTimer("root|heartbeat|4", T0 + 110),
    )
    done = harness.feed(TaskCallback(token, TaskSuccess({"approved": True}), T0 + 70))
    assert event_types(done.events) == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    assert done.commands == (
        CancelTimer("root|timeout|2"),
        CancelTimer("root|heartbeat|4"),
        Finish("SUCCEEDED", output={"approved": True}),
    )
    again = harness.feed(TaskCallback(token, TaskSuccess(1), T0 + 80))
    assert (again.events, again.commands) == ((), ())


def test_wait_for_task_token_callback_failure() -> None:
    harness, token = _token_harness()
    harness.answer(harness.only_task(), {})
    harness.feed(TaskCallback(token, TaskFailure("Rejected", "no"), T0 + 5))
    assert harness.finish == Finish("FAILED", error="Rejected", cause="no")
    assert event_types(harness.history)[-2:] == ["TaskFailed", "ExecutionFailed"]


def test_wait_for_task_token_heartbeat_timeout() -> None:
    harness, _ = _token_harness()
    harness.answer(harness.only_task(), {})
    timed_out = harness.fire(harness.timers["root|heartbeat|3"])
    assert event_types(timed_out.events) == ["TaskTimedOut", "ExecutionFailed"]
    assert rendered(timed_out.events[0]) == {
        "resourceType": "lambda",
        "resource": "invoke.waitForTaskToken",
        "error": STATES_HEARTBEAT_TIMEOUT,
    }
    assert timed_out.commands == (
        CancelTimer("root|timeout|2"),
        Finish("FAILED", error=STATES_HEARTBEAT_TIMEOUT, cause=None),
    )


def test_an_unknown_token_changes_nothing() -> None:
    harness, _ = _token_harness()
    result = harness.feed(TaskCallback("not-a-token", TaskSuccess(1), T0))
    assert (result.events, result.commands) == ((), ())


def test_stop_while_waiting_for_a_token_cancels_everything() -> None:
    harness, _ = _token_harness()
    stopped = harness.stop()
    assert stopped.commands == (
        CancelTask("root|task|1"),
        CancelTimer("root|timeout|2"),
        CancelTimer("root|heartbeat|3"),
        Finish("ABORTED"),
    )


def test_region_and_account_come_from_the_execution_arn() -> None:
    machine = compile_definition(
        chain(("Send", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage"}))
    )
    arn = "arn:aws:states:eu-west-1:222233334444:execution:test-machine:elsewhere"
    info = replace(make_info({}), execution_arn=arn)
    harness = Harness(machine, new_execution(info, machine.root.start_at))
    harness.start()
    request = harness.only_task().request
    assert (request.region, request.account) == ("eu-west-1", "222233334444")
    scheduled = next(e for e in harness.history if e.type == "TaskScheduled")
    assert rendered(scheduled)["region"] == "eu-west-1"
