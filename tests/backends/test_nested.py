"""The `states:startExecution` backend (engine/backends/nested.py) with a real `Engine` as its
`ChildExecutions`: any parameters give a task result, never an exception; refused starts are
AWS's `StepFunctions.<Code>Exception`."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backends.nested import StartExecutionBackend, start_failure
from engine.embedded import Engine
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.values import JSON

PARENT = "arn:aws:states:us-east-1:111111111111:execution:parent:p"
CHILD_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:child"
CHILD = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
VALUES: st.SearchStrategy[JSON] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
RESOURCES = [
    "arn:aws:states:::states:startExecution",
    "arn:aws:states:::states:startExecution.sync",
    "arn:aws:states:::states:startExecution.sync:2",
    "arn:aws:states:::states:startExecution.waitForTaskToken",
]


def invoke(resource: str, payload: JSON) -> TaskResult:
    async def main() -> TaskResult:
        engine = Engine(clock=VirtualClock())
        engine.load(CHILD, name="child")
        try:
            request = TaskRequest(resource, payload, PARENT, "Nest", task_token="token-1")
            return await StartExecutionBackend(engine).invoke(request)
        finally:
            await engine.aclose()

    return asyncio.run(main())


@settings(max_examples=150, deadline=None)
@given(
    resource=st.sampled_from([*RESOURCES, "arn:aws:states:::states:startExecution.bogus"]),
    payload=VALUES
    | st.fixed_dictionaries(
        {},
        optional={
            "StateMachineArn": st.sampled_from([CHILD_ARN, "nope"]) | SCALARS,
            "Input": VALUES,
            "Name": st.text(max_size=90) | SCALARS,
        },
    ),
)
def test_any_parameters_give_a_task_result(resource: str, payload: JSON) -> None:
    result = invoke(resource, payload)
    assert isinstance(result, TaskSuccess | TaskFailure)
    if isinstance(result, TaskSuccess):
        assert isinstance(result.output, dict)
        assert sorted(result.output) == ["ExecutionArn", "StartDate"]
    else:
        assert result.error == "States.Runtime" or result.error.startswith("StepFunctions.")
        assert result.error.endswith("Exception") or result.error == "States.Runtime"


@pytest.mark.parametrize(
    ("payload", "error", "cause"),
    [
        (
            {"StateMachineArn": CHILD_ARN, "Input": "{not json"},
            "StepFunctions.InvalidExecutionInputException",
            r"Invalid State Machine Execution Input: '.+' \(Service: AWSStepFunctions; ",
        ),
        (
            {"StateMachineArn": CHILD_ARN, "Name": "has space"},
            "StepFunctions.InvalidNameException",
            r"Invalid Name: 'has space': .+ \(Service: AWSStepFunctions; ",
        ),
        (
            {"StateMachineArn": f"{CHILD_ARN}x"},
            "StepFunctions.StateMachineDoesNotExistException",
            rf"State Machine Does Not Exist: '{CHILD_ARN}x' \(Service: AWSStepFunctions; ",
        ),
    ],
    ids=["input-not-json", "bad-name", "unknown-machine"],
)
def test_refused_starts_are_stepfunctions_exceptions(payload: JSON, error: str, cause: str) -> None:
    result = invoke("arn:aws:states:::states:startExecution.sync", payload)
    assert isinstance(result, TaskFailure)
    assert result.error == error
    assert re.match(cause, str(result.cause)), result.cause
    assert re.search(
        r"Status Code: 400; Error Code: \w+; Request ID: [0-9a-f-]{36}; Proxy: null\)$",
        str(result.cause),
    )


def test_an_error_code_ending_in_exception_is_not_doubled() -> None:
    assert start_failure("KmsThrottlingException", "slow").error == (
        "StepFunctions.KmsThrottlingException"
    )
