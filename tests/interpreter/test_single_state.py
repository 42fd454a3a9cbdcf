"""engine/interpreter/single_state.py with values: no server, no backend, no clock.

The differential test is the one that matters: a state run on its own by TestState gives the
output an execution of a one-state machine gives (the same `step`, stopped at the transition).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.compile import compile_machine
from engine.embedded import Engine
from engine.errors import STATES_RUNTIME
from engine.interpreter.dataflow import INSPECTION
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.single_state import Mock, SingleStateRun
from engine.interpreter.tasks import TaskSuccess
from engine.service.teststate import TestStateRequest, run_test_state

NOW = 1_700_000_000.0
INFO = ExecutionInfo(
    execution_arn="arn:aws:states:us-east-1:111111111111:express:m:e",
    name="e",
    state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:m",
    state_machine_name="m",
    input={"a": {"b": [1, 2]}, "c": "x"},
    start_time=NOW,
)


def machine_of(state: dict[str, Any]) -> str:
    return json.dumps({"StartAt": "S", "States": {"S": {**state, "End": True}}})


def run_alone(state: dict[str, Any], value: Any) -> tuple[str, Any, str | None, str | None]:
    """What TestState answers for the state S of the one-state machine around `state`."""
    request = TestStateRequest(
        definition=machine_of(state), state_name="S", input=json.dumps(value)
    )
    answer = asyncio.run(run_test_state(request, lambda resource: None, NOW))
    output = json.loads(answer.output) if answer.output is not None else None
    return answer.status, output, answer.error, answer.cause


def run_as_execution(state: dict[str, Any], value: Any) -> tuple[str, Any, str | None, str | None]:
    """How an execution of that machine ends."""

    async def go() -> tuple[str, Any, str | None, str | None]:
        engine = Engine()
        try:
            result = await engine.run(engine.load(machine_of(state)), value)
        finally:
            await engine.aclose()
        return result.status, result.output, result.error, result.cause

    return asyncio.run(go())


paths = st.sampled_from(["$", "$.a", "$.a.b", "$.c", "$.r", "$.nope"])
result_paths = st.sampled_from(["$", "$.r", "$.a.r", "$.c.r", None])
parameters = st.sampled_from(
    [None, {"fixed": 1}, {"picked.$": "$"}, {"n.$": "States.ArrayLength($.a.b)"}]
)


@settings(max_examples=60, deadline=None)
@given(input_path=paths, params=parameters, result_path=result_paths, output_path=paths)
def test_a_pass_state_alone_ends_as_an_execution_of_it_does(
    input_path: str, params: dict[str, Any] | None, result_path: str | None, output_path: str
) -> None:
    """Status, output, error and cause agree, failures included (the same `step` runs)."""
    state: dict[str, Any] = {
        "Type": "Pass",
        "InputPath": input_path,
        "ResultPath": result_path,
        "OutputPath": output_path,
    }
    if params is not None:
        state["Parameters"] = params
    value = {"a": {"b": [1, 2]}, "c": "x"}
    alone = run_alone(state, value)
    assert alone == run_as_execution(state, value)


def test_the_inspection_hook_is_off_outside_a_test() -> None:
    machine = compile_machine(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a", "End": True}}}
    )
    run = SingleStateRun(machine, "P", INFO)
    run.start(NOW)
    assert run.done
    assert run.inspection == {"afterInputPath": {"b": [1, 2]}, "afterResultPath": {"b": [1, 2]}}
    assert INSPECTION.record is None


def test_the_mock_answers_the_tested_task_only_once() -> None:
    machine = compile_machine(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
                    "Next": "N",
                },
                "N": {"Type": "Pass", "End": True},
            },
        }
    )
    run = SingleStateRun(machine, "T", INFO, mock=Mock(result={"MessageId": "1"}))
    run.start(NOW)
    outcome = run.outcome()
    assert (outcome.status, outcome.output, outcome.next_state) == (
        "SUCCEEDED",
        {"MessageId": "1"},
        "N",
    )
    assert run.pending == []


def test_an_unmocked_task_waits_for_its_invocation() -> None:
    machine = compile_machine(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                    "TimeoutSeconds": 5,
                    "End": True,
                }
            },
        }
    )
    run = SingleStateRun(machine, "T", INFO)
    run.start(NOW)
    assert not run.done
    (invoke,) = run.pending
    assert (invoke.request.payload, invoke.request.timeout_seconds) == (INFO.input, 5.0)
    run.answer(invoke, TaskSuccess({"ok": True}), NOW + 1)
    assert (run.done, run.outcome().output, run.timers) == (True, {"ok": True}, {})


def test_a_branch_waiting_for_a_worker_cannot_finish() -> None:
    state = {
        "Type": "Parallel",
        "Branches": [
            {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:us-east-1:111111111111:activity:a",
                        "End": True,
                    }
                },
            }
        ],
        "End": True,
    }
    request = TestStateRequest(definition=json.dumps(state))
    answer = asyncio.run(run_test_state(request, lambda resource: None, NOW))
    assert (answer.status, answer.error) == ("FAILED", STATES_RUNTIME)
    assert answer.cause is not None
    assert answer.cause.endswith("Give a mock for it.")
