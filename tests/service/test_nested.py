"""Service: nested executions (`states:startExecution`, `.sync`, `.sync:2`, `.waitForTaskToken`)
on each store, with AWS's output shapes (engine/interpreter/nested.py cites the recordings)."""

from __future__ import annotations

import json

import pytest

from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.values import JSON
from tests.service.helpers import (
    T0,
    ManualClock,
    StoreFactory,
    Tokens,
    execution_arn,
    finish,
    machine_arn,
    run,
    text,
    types,
    until,
)

CHILD_ARN = machine_arn("child")
# The child waits an hour (virtual), then echoes its input under "got".
CHILD = text(
    {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Echo"},
            "Echo": {"Type": "Pass", "Parameters": {"got.$": "$"}, "End": True},
        },
    }
)
FAILING_CHILD = text(
    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}
)


def parent(suffix: str, **task: JSON) -> str:
    state: dict[str, JSON] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {"StateMachineArn": CHILD_ARN, "Input": {"n": 1}, "Name": "kid"},
        "End": True,
        **task,
    }
    return text({"StartAt": "Start", "States": {"Start": state}})


def served(every_store: StoreFactory, main: object) -> object:
    return run(main, store=every_store(), clock=VirtualClock(T0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("suffix", "io"),
    [(".sync", "text"), (".sync:2", "json")],
    ids=["sync", "sync2"],
)
def test_a_sync_task_gets_the_childs_description(
    every_store: StoreFactory, suffix: str, io: str
) -> None:
    async def main(service: Service) -> None:
        await service.create_state_machine("child", CHILD)
        machine, _ = await service.create_state_machine("parent", parent(suffix))
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        child = await service.describe_execution(execution_arn("child", "kid"))
        assert child.stop is not None
        # the clock follows real time while a backend runs: read the dates the child got
        start, stop = round(child.start * 1000), round(child.stop * 1000)
        assert stop - start == 3_600_000
        child_in: JSON = {"n": 1}
        child_out: JSON = {"got": {"n": 1}}
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == {
            "ExecutionArn": execution_arn("child", "kid"),
            "Input": child_in if io == "json" else '{"n":1}',
            "InputDetails": {"Included": True},
            "Name": "kid",
            "Output": child_out if io == "json" else '{"got":{"n":1}}',
            "OutputDetails": {"Included": True},
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
            "StartDate": start,
            "StateMachineArn": CHILD_ARN,
            "Status": "SUCCEEDED",
            "StopDate": stop,
        }
        history = await service.get_history(started.arn)
        assert types(history) == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
        assert history[4].details == {
            "taskSubmittedEventDetails": {
                "resourceType": "states",
                "resource": f"startExecution{suffix}",
                "output": json.dumps(
                    {"ExecutionArn": execution_arn("child", "kid"), "StartDate": start},
                    separators=(",", ":"),
                ),
                "outputDetails": {"truncated": False},
            }
        }
        assert (child.parent_arn, child.parent_pattern) == (started.arn, suffix[1:])

    served(every_store, main)


def test_request_response_returns_the_start_and_does_not_wait(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        await service.create_state_machine("child", CHILD)
        machine, _ = await service.create_state_machine("parent", parent(""))
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        child = await finish(service, execution_arn("child", "kid"))
        assert (closed.status, closed.output) == (
            "SUCCEEDED",
            {"ExecutionArn": child.arn, "StartDate": round(child.start * 1000)},
        )
        assert (child.status, child.output) == ("SUCCEEDED", {"got": {"n": 1}})

    served(every_store, main)


@pytest.mark.parametrize("suffix", [".sync", ".sync:2"])
def test_a_failed_child_fails_the_task_with_states_task_failed_caught_by_catch(
    every_store: StoreFactory, suffix: str
) -> None:
    catch: JSON = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    definition = json.loads(parent(suffix, Catch=catch))
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}

    async def main(service: Service) -> None:
        await service.create_state_machine("child", FAILING_CHILD)
        machine, _ = await service.create_state_machine("parent", json.dumps(definition))
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED"
        assert isinstance(closed.output, dict)
        assert closed.output["Error"] == "States.TaskFailed"
        child = await service.describe_execution(execution_arn("child", "kid"))
        assert child.stop is not None
        assert json.loads(str(closed.output["Cause"])) == {
            "Cause": "bad",
            "Error": "Boom",
            "ExecutionArn": execution_arn("child", "kid"),
            "Input": '{"n":1}',
            "InputDetails": {"Included": True},
            "Name": "kid",
            "RedriveCount": 0,
            "RedriveStatus": "REDRIVABLE",
            "StartDate": round(child.start * 1000),
            "StateMachineArn": CHILD_ARN,
            "Status": "FAILED",
            "StopDate": round(child.stop * 1000),
        }

    served(every_store, main)


def test_stopping_the_parent_stops_its_sync_child(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        await service.create_state_machine("child", CHILD)
        machine, _ = await service.create_state_machine("parent", parent(".sync"))
        started = await service.start_execution(machine.arn, name="p")
        child_arn = execution_arn("child", "kid")

        async def child_started() -> bool:
            history = await service.get_history(started.arn)
            return "TaskSubmitted" in types(history)

        await until(child_started)
        await service.stop_execution(started.arn, error="Halt", cause="by test")
        child = await finish(service, child_arn)
        assert (child.status, child.error, child.cause) == (
            "ABORTED",
            None,
            f"The Task state in AWS Step Functions execution [{started.arn}] which was "
            "managing this resource was aborted",
        )

    run(
        main,
        store=every_store(),
        clock=ManualClock(),
        config=ServiceConfig(poll_seconds=0.01),
    )


def test_an_unknown_child_machine_fails_the_task_as_aws_does(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("parent", parent(".sync:2"))
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        assert closed.status == "FAILED"
        assert closed.error == "StepFunctions.StateMachineDoesNotExistException"
        assert str(closed.cause).startswith(
            f"State Machine Does Not Exist: '{CHILD_ARN}' (Service: AWSStepFunctions; "
            "Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "
        )

    served(every_store, main)


def test_an_express_child_answers_a_sync_parent(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        await service.create_state_machine("child", CHILD, machine_type="EXPRESS")
        machine, _ = await service.create_state_machine("parent", parent(".sync:2"))
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert isinstance(closed.output, dict)
        assert (closed.output["Output"], closed.output["Status"]) == (
            {"got": {"n": 1}},
            "SUCCEEDED",
        )

    served(every_store, main)


def test_a_running_child_is_started_once_by_name(every_store: StoreFactory) -> None:
    """Two request-response starts of `kid` with one input while it runs: one child (the
    idempotent StartExecution); with another input, ExecutionAlreadyExists."""
    start: dict[str, JSON] = json.loads(parent(""))["States"]["Start"]
    first = {k: v for k, v in start.items() if k != "End"}
    twice = text(
        {
            "StartAt": "First",
            "States": {
                "First": {**first, "ResultPath": "$.first", "Next": "Again"},
                "Again": {**start, "ResultPath": "$.again"},
            },
        }
    )
    other = json.loads(parent(""))
    other["States"]["Start"]["Parameters"]["Input"] = {"n": 2}

    async def main(service: Service) -> None:
        await service.create_state_machine("child", CHILD)
        machine, _ = await service.create_state_machine("twice", twice)
        started = await service.start_execution(machine.arn, name="p")
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert isinstance(closed.output, dict)
        assert closed.output["first"] == closed.output["again"]
        conflicting, _ = await service.create_state_machine("conflicting", json.dumps(other))
        refused = await finish(service, (await service.start_execution(conflicting.arn)).arn)
        assert (refused.status, refused.error) == (
            "FAILED",
            "StepFunctions.ExecutionAlreadyExistsException",
        )

    served(every_store, main)


def test_wait_for_task_token_is_answered_by_send_task_success(every_store: StoreFactory) -> None:
    """The child hands `$$.Task.Token` of the parent's Task (passed in its input) to a function;
    SendTaskSuccess with it completes the parent's Task, whatever the child does after."""
    tokens = Tokens()
    child = text(
        {
            "StartAt": "Hand",
            "States": {
                "Hand": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "remember", "Payload": {"token.$": "$.token"}},
                    "End": True,
                }
            },
        }
    )
    definition = json.loads(parent(".waitForTaskToken"))
    definition["States"]["Start"]["Parameters"]["Input"] = {"token.$": "$$.Task.Token"}

    async def main(service: Service) -> None:
        await service.create_state_machine("child", child)
        machine, _ = await service.create_state_machine("parent", json.dumps(definition))
        started = await service.start_execution(machine.arn, name="p")
        token = await tokens.next()
        await service.send_task_success(token, '{"answer": 42}')
        closed = await finish(service, started.arn)
        assert (closed.status, closed.output) == ("SUCCEEDED", {"answer": 42})
        history = await service.get_history(started.arn)
        assert types(history)[4:6] == ["TaskSubmitted", "TaskSucceeded"]

    run(
        main,
        store=every_store(),
        functions={"remember": tokens.remember},
        clock=VirtualClock(T0),
    )
