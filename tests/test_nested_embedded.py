"""Nested executions in process (`Engine`, as `asl run` uses it): each startExecution pattern
with AWS's output shapes, a failed child caught as States.TaskFailed, stops and timeouts that
stop a `.sync` child, name idempotency, and virtual time across parent and child."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from engine.embedded import Engine, ExecutionResult
from engine.errors import DefinitionInvalid
from engine.runtime.clock import VirtualClock
from engine.values import JSON

T = TypeVar("T")
T0 = 1_700_000_000.0
ARN = "arn:aws:states:us-east-1:111111111111"
CHILD_ARN = f"{ARN}:stateMachine:child"
KID = f"{ARN}:execution:child:kid"
ABANDONED = (
    "The Task state in AWS Step Functions execution [{parent}] which was managing this "
    "resource was aborted"
)

# An hour's Wait (virtual), then the input under "got".
CHILD: JSON = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Echo"},
        "Echo": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True},
    },
}
FAILING: JSON = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}},
}
# Hands the token it was given to `answer`, an async handler that calls SendTaskSuccess.
CALLING_BACK: JSON = {
    "StartAt": "Answer",
    "States": {
        "Answer": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:answer",
            "End": True,
        }
    },
}


def parent(suffix: str, input_value: JSON = None, **task: JSON) -> dict[str, JSON]:
    state: dict[str, JSON] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {
            "StateMachineArn": CHILD_ARN,
            "Input": {"n.$": "$.n"} if input_value is None else input_value,
            "Name": "kid",
        },
        "End": True,
        **task,
    }
    return {"StartAt": "Start", "States": {"Start": state}}


def run(main: Callable[[Engine], Awaitable[T]], **engine_args: object) -> T:
    async def wrapped() -> T:
        engine = Engine(clock=VirtualClock(T0), **engine_args)  # type: ignore[arg-type]
        try:
            return await main(engine)
        finally:
            await engine.aclose()

    return asyncio.run(wrapped())


async def run_parent(
    engine: Engine, definition: JSON, child: JSON = CHILD, input_value: JSON = None
) -> ExecutionResult:
    assert isinstance(definition, dict)
    engine.load(child, name="child")
    machine = engine.load(definition, name="parent")
    return await engine.run(machine, {"n": 3} if input_value is None else input_value, name="p")


def description(as_json: bool) -> dict[str, JSON]:
    return {
        "ExecutionArn": KID,
        "Input": {"n": 3} if as_json else '{"n":3}',
        "InputDetails": {"Included": True},
        "Name": "kid",
        "Output": {"got": 3} if as_json else '{"got":3}',
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": 1_700_000_000_000,
        "StateMachineArn": CHILD_ARN,
        "Status": "SUCCEEDED",
        "StopDate": 1_700_003_600_000,
    }


SYNC_EVENTS = [
    "ExecutionStarted",
    "TaskStateEntered",
    "TaskScheduled",
    "TaskStarted",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskStateExited",
    "ExecutionSucceeded",
]


@pytest.mark.parametrize(("suffix", "as_json"), [(".sync", False), (".sync:2", True)])
def test_sync_gets_the_childs_description(suffix: str, as_json: bool) -> None:
    async def main(engine: Engine) -> None:
        result = await run_parent(engine, parent(suffix))
        assert (result.status, result.output) == ("SUCCEEDED", description(as_json))
        assert [e.type for e in result.events] == SYNC_EVENTS
        submitted = result.events[4].as_json()["taskSubmittedEventDetails"]
        assert submitted == {
            "resourceType": "states",
            "resource": f"startExecution{suffix}",
            "output": json.dumps(
                {"ExecutionArn": KID, "StartDate": 1_700_000_000_000}, separators=(",", ":")
            ),
            "outputDetails": {"truncated": False},
        }
        # the parent waited an hour of virtual time for its child, and no real time
        assert result.stop_date == T0 + 3600

    run(main)


def test_request_response_completes_with_the_start() -> None:
    async def main(engine: Engine) -> None:
        result = await run_parent(engine, parent(""))
        assert (result.status, result.output) == (
            "SUCCEEDED",
            {"ExecutionArn": KID, "StartDate": 1_700_000_000_000},
        )
        assert "TaskSubmitted" not in [e.type for e in result.events]
        child = await engine.result(KID)
        assert (child.status, child.output) == ("SUCCEEDED", {"got": 3})

    run(main)


def test_wait_for_task_token_waits_for_the_childs_callback() -> None:
    engine_box: list[Engine] = []

    async def answer(event: dict[str, JSON], context: object) -> JSON:
        engine_box[0].send_task_success(str(event["token"]), {"answered": event["n"]})
        return {}

    async def main(engine: Engine) -> None:
        engine_box.append(engine)
        definition = parent(".waitForTaskToken", {"n.$": "$.n", "token.$": "$$.Task.Token"})
        result = await run_parent(engine, definition, CALLING_BACK)
        assert (result.status, result.output) == ("SUCCEEDED", {"answered": 3})
        assert [e.type for e in result.events] == SYNC_EVENTS

    run(main, functions={"answer": answer})


@pytest.mark.parametrize("suffix", [".sync", ".sync:2"])
def test_a_failed_child_is_caught_as_states_task_failed(suffix: str) -> None:
    definition = parent(
        suffix,
        Catch=[
            {"ErrorEquals": ["Boom"], "Next": "ByName"},
            {"ErrorEquals": ["States.TaskFailed"], "Next": "TaskFailed"},
        ],
    )
    states = definition["States"]
    assert isinstance(states, dict)
    states["ByName"] = {"Type": "Pass", "Result": "by name", "End": True}
    states["TaskFailed"] = {"Type": "Pass", "OutputPath": "$.Cause", "End": True}

    async def main(engine: Engine) -> None:
        result = await run_parent(engine, definition, FAILING)
        assert result.status == "SUCCEEDED"
        assert json.loads(str(result.output)) == {
            "Cause": "on purpose",
            "Error": "Boom",
            "ExecutionArn": KID,
            "Input": '{"n":3}',  # text in both patterns (AWS)
            "InputDetails": {"Included": True},
            "Name": "kid",
            "RedriveCount": 0,
            "RedriveStatus": "REDRIVABLE",
            "StartDate": 1_700_000_000_000,
            "StateMachineArn": CHILD_ARN,
            "Status": "FAILED",
            "StopDate": 1_700_000_000_000,
        }

    run(main)


def test_stopping_the_parent_stops_the_sync_child() -> None:
    async def main(engine: Engine) -> None:
        engine.load(CHILD, name="child")
        machine = engine.load(parent(".sync"), name="parent")
        arn = engine.start(machine, {"n": 3}, name="p")
        for _ in range(1000):  # a few turns of the loop: the parent's Task starts the child
            if KID in engine.runtime.executions:
                break
            await asyncio.sleep(0)
        assert KID in engine.runtime.executions
        engine.runtime.stop(arn, "Halt", "by test")
        stopped = await engine.result(arn)
        child = await engine.result(KID)
        assert (stopped.status, child.status, child.error, child.cause) == (
            "ABORTED",
            "ABORTED",
            None,
            ABANDONED.format(parent=arn),
        )

    run(main)


def test_a_task_timeout_stops_the_child_and_is_caught_as_states_timeout() -> None:
    definition = parent(
        ".sync:2",
        TimeoutSeconds=60,
        Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
    )
    states = definition["States"]
    assert isinstance(states, dict)
    states["Late"] = {"Type": "Pass", "Result": "late", "End": True}

    async def main(engine: Engine) -> None:
        result = await run_parent(engine, definition)
        assert (result.status, result.output) == ("SUCCEEDED", "late")
        child = await engine.result(KID)
        assert (child.status, child.cause) == (
            "ABORTED",
            ABANDONED.format(parent=result.execution_arn),
        )

    run(main)


def test_an_unknown_child_machine_fails_with_aws_error() -> None:
    async def main(engine: Engine) -> None:
        machine = engine.load(parent(".sync"), name="parent")
        result = await engine.run(machine, {"n": 3})
        assert (result.status, result.error) == (
            "FAILED",
            "StepFunctions.StateMachineDoesNotExistException",
        )
        assert str(result.cause).startswith(
            f"State Machine Does Not Exist: '{CHILD_ARN}' (Service: AWSStepFunctions; "
            "Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "
        )
        assert str(result.cause).endswith("; Proxy: null)")

    run(main)


def test_the_name_of_a_closed_child_is_taken() -> None:
    """A second parent starting `kid` after the first one closed: ExecutionAlreadyExists."""

    async def main(engine: Engine) -> None:
        engine.load(CHILD, name="child")
        machine = engine.load(parent(".sync:2"), name="parent")
        first = await engine.run(machine, {"n": 3}, name="first")
        second = await engine.run(machine, {"n": 3}, name="second")
        assert first.status == "SUCCEEDED"
        assert (second.status, second.error) == (
            "FAILED",
            "StepFunctions.ExecutionAlreadyExistsException",
        )
        assert str(second.cause).startswith(f"Execution Already Exists: '{KID}' (Service: ")

    run(main)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"Input": {}}, "StateMachineArn must be a state machine ARN"),
        ({"StateMachineArn": CHILD_ARN, "Name": 7}, "Name must be a string"),
        (
            {"StateMachineArn": CHILD_ARN, "Extra": 1},
            "unknown parameter 'Extra' (it accepts StateMachineArn, Input, Name)",
        ),
    ],
    ids=["no-arn", "name-not-string", "unknown-parameter"],
)
def test_bad_parameters_fail_with_a_located_message(parameters: JSON, message: str) -> None:
    """Parameters computed at run time (JSONata Arguments as one expression, which validate
    cannot judge) that StartExecution would refuse: States.Runtime, naming the problem."""
    definition: JSON = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Arguments": "{% $states.input.parameters %}",
                "End": True,
            }
        },
    }

    async def main(engine: Engine) -> None:
        machine = engine.load(definition, name="parent")
        result = await engine.run(machine, {"parameters": parameters})
        assert (result.status, result.error, result.cause) == (
            "FAILED",
            "States.Runtime",
            f"The Task state 'Start' cannot start an execution: {message}.",
        )

    run(main)


def test_literal_bad_parameters_are_refused_when_loaded() -> None:
    """The same parameters written out: the definition is refused (asl validate's checks)."""
    definition: JSON = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"Input": {}, "Extra": 1},
                "End": True,
            }
        },
    }

    async def main(engine: Engine) -> None:
        with pytest.raises(DefinitionInvalid) as caught:
            engine.load(definition, name="parent")
        assert [(d.location, d.message) for d in caught.value.diagnostics] == [
            (
                "/States/Start/Parameters/Extra",
                'The field "Extra" is not supported by Step Functions',
            ),
            ("/States/Start/Parameters", "The field 'StateMachineArn' is required but was missing"),
        ]

    run(main)


def test_an_input_string_is_the_childs_json_text() -> None:
    async def main(engine: Engine) -> None:
        result = await run_parent(engine, parent(".sync:2", '{"n": 5}'))
        assert isinstance(result.output, dict)
        assert (result.output["Input"], result.output["Output"]) == ({"n": 5}, {"got": 5})

    run(main)


def test_the_parents_own_timeout_stops_the_child() -> None:
    definition = {**parent(".sync"), "TimeoutSeconds": 60}

    async def main(engine: Engine) -> None:
        result = await run_parent(engine, definition)
        child = await engine.result(KID)
        assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
        assert (child.status, child.cause) == (
            "ABORTED",
            ABANDONED.format(parent=result.execution_arn),
        )
        assert child.stop_date == T0 + 60

    run(main)


def test_an_express_child_answers_a_sync_parent() -> None:
    async def main(engine: Engine) -> None:
        engine.load(CHILD, name="child", machine_type="EXPRESS")
        machine = engine.load(parent(".sync:2"), name="parent")
        result = await engine.run(machine, {"n": 3}, name="p")
        assert result.status == "SUCCEEDED"
        assert isinstance(result.output, dict)
        assert str(result.output["ExecutionArn"]).startswith(f"{ARN}:express:child:kid:")
        assert (result.output["Output"], result.output["Status"]) == ({"got": 3}, "SUCCEEDED")

    run(main)


def test_a_failing_sibling_branch_stops_the_child() -> None:
    definition: JSON = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Start", "States": {"Start": parent(".sync")["States"]["Start"]}},  # type: ignore[index]
                    {
                        "StartAt": "Pause",
                        "States": {
                            "Pause": {"Type": "Wait", "Seconds": 10, "Next": "Fail"},
                            "Fail": {"Type": "Fail", "Error": "Sibling", "Cause": "gave up"},
                        },
                    },
                ],
                "End": True,
            }
        },
    }

    async def main(engine: Engine) -> None:
        result = await run_parent(engine, definition)
        child = await engine.result(KID)
        assert (result.status, result.error) == ("FAILED", "Sibling")
        assert (child.status, child.cause, child.stop_date) == (
            "ABORTED",
            ABANDONED.format(parent=result.execution_arn),
            T0 + 10,
        )
        assert "TaskStateAborted" in [e.type for e in result.events]

    run(main)
