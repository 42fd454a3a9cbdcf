"""boto3 against a real `asl serve` process: a parent starting a child with `.sync:2` gets the
child's output as JSON (issue 15), and StopExecution of the parent stops its `.sync` child."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serve_process import serve_process, sfn_client

ROLE = "arn:aws:iam::111111111111:role/test"
ARN = "arn:aws:states:us-east-1:111111111111"
CHILD: dict[str, object] = {
    "StartAt": "Echo",
    "States": {"Echo": {"Type": "Pass", "Parameters": {"doubled.$": "$.items"}, "End": True}},
}
SLOW_CHILD: dict[str, object] = {
    "StartAt": "W",
    "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}},
}


def parent(suffix: str, child: str) -> dict[str, object]:
    return {
        "StartAt": "Nest",
        "States": {
            "Nest": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::states:startExecution{suffix}",
                "Parameters": {
                    "StateMachineArn": f"{ARN}:stateMachine:{child}",
                    "Input": {
                        "items.$": "$.items",
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                    },
                    "Name": "kid",
                },
                "End": True,
            }
        },
    }


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    with serve_process([]) as url:
        client = sfn_client(url)
        yield client
        client.close()


def wait_closed(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)


def create(sfn: Any, name: str, definition: dict[str, object]) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def test_a_sync2_parent_gets_the_childs_output_as_json(sfn: Any) -> None:
    create(sfn, "child", CHILD)
    parent_arn = create(sfn, "parent", parent(".sync:2", "child"))
    started = sfn.start_execution(stateMachineArn=parent_arn, name="p", input='{"items": [1, 2]}')
    described = wait_closed(sfn, started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    kid = sfn.describe_execution(executionArn=f"{ARN}:execution:child:kid")
    assert output == {
        "ExecutionArn": f"{ARN}:execution:child:kid",
        "Input": {
            "items": [1, 2],
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": started["executionArn"],
        },
        "InputDetails": {"Included": True},
        "Name": "kid",
        "Output": {"doubled": [1, 2]},
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": round(kid["startDate"].timestamp() * 1000),
        "StateMachineArn": f"{ARN}:stateMachine:child",
        "Status": "SUCCEEDED",
        "StopDate": round(kid["stopDate"].timestamp() * 1000),
    }
    # boto3 keeps only the members of its model: the parent link is left out, not an error
    assert "parentExecutionArn" not in kid
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    submitted = next(e for e in events if e["type"] == "TaskSubmitted")
    assert submitted["taskSubmittedEventDetails"]["resource"] == "startExecution.sync:2"
    assert json.loads(submitted["taskSubmittedEventDetails"]["output"]) == {
        "ExecutionArn": f"{ARN}:execution:child:kid",
        "StartDate": round(kid["startDate"].timestamp() * 1000),
    }


def test_stopping_the_parent_stops_its_sync_child(sfn: Any) -> None:
    create(sfn, "slow", SLOW_CHILD)
    parent_arn = create(sfn, "waiter", parent(".sync", "slow"))
    started = sfn.start_execution(stateMachineArn=parent_arn, name="w", input='{"items": []}')
    kid_arn = f"{ARN}:execution:slow:kid"
    deadline = time.monotonic() + 20
    while True:  # the child exists once the parent's Task has submitted it
        events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
        if any(e["type"] == "TaskSubmitted" for e in events):
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sfn.stop_execution(executionArn=started["executionArn"], error="Halt", cause="test")
    assert wait_closed(sfn, started["executionArn"])["status"] == "ABORTED"
    kid = wait_closed(sfn, kid_arn)
    assert (kid["status"], kid.get("error"), kid["cause"]) == (
        "ABORTED",
        None,
        f"The Task state in AWS Step Functions execution [{started['executionArn']}] which "
        "was managing this resource was aborted",
    )
