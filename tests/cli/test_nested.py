"""Nested executions from the command line: `asl run --machine-file NAME=FILE` and `--store`,
`asl start` (attached, and detached with `asl worker`), each pattern with AWS's output shape.
"""

from __future__ import annotations

import json

import pytest

from engine.values import JSON
from tests.cli.harness import Cli, assert_one_asl_line

REGION_ACCOUNT = "us-east-1:111111111111"
CHILD_ARN = f"arn:aws:states:{REGION_ACCOUNT}:stateMachine:child"
KID_ARN = f"arn:aws:states:{REGION_ACCOUNT}:execution:child:kid"
CHILD: JSON = {
    "StartAt": "Echo",
    "States": {"Echo": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}},
}
FAILING: JSON = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}},
}


def parent(suffix: str, **task: JSON) -> dict[str, JSON]:
    return {
        "StartAt": "Nest",
        "States": {
            "Nest": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::states:startExecution{suffix}",
                "Parameters": {
                    "StateMachineArn": CHILD_ARN,
                    "Input": {"n.$": "$.n"},
                    "Name": "kid",
                },
                "End": True,
                **task,
            }
        },
    }


# What each pattern gives the parent, with the dates left out (the clock's)
EXPECTED: dict[str, dict[str, JSON]] = {
    "": {"ExecutionArn": KID_ARN},
    ".sync": {
        "ExecutionArn": KID_ARN,
        "Input": '{"n":3}',
        "InputDetails": {"Included": True},
        "Name": "kid",
        "Output": '{"got":3}',
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StateMachineArn": CHILD_ARN,
        "Status": "SUCCEEDED",
    },
    ".sync:2": {
        "ExecutionArn": KID_ARN,
        "Input": {"n": 3},
        "InputDetails": {"Included": True},
        "Name": "kid",
        "Output": {"got": 3},
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StateMachineArn": CHILD_ARN,
        "Status": "SUCCEEDED",
    },
}


def without_dates(output: JSON) -> JSON:
    assert isinstance(output, dict)
    dates = {k: v for k, v in output.items() if k in ("StartDate", "StopDate")}
    assert all(isinstance(v, int) for v in dates.values()), dates  # epoch milliseconds
    return {k: v for k, v in output.items() if k not in dates}


@pytest.mark.parametrize("suffix", ["", ".sync", ".sync:2"], ids=["request", "sync", "sync2"])
def test_run_with_a_machine_file(cli: Cli, suffix: str) -> None:
    cli.write("child.json", CHILD)
    cli.write("parent.asl.json", parent(suffix))
    done = cli(
        "run", "parent.asl.json", "--input", '{"n": 3}', "--machine-file", "child=child.json",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done
    result = done.json()
    assert result["status"] == "SUCCEEDED"
    assert without_dates(result["output"]) == EXPECTED[suffix]


def test_run_without_the_child_fails_as_aws_does(cli: Cli) -> None:
    cli.write("parent.asl.json", parent(".sync"))
    done = cli("run", "parent.asl.json", "--input", '{"n": 3}', "--json")
    assert done.code == 1
    result = done.json()
    assert result["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert result["cause"].startswith(f"State Machine Does Not Exist: '{CHILD_ARN}' (Service: ")


def test_run_catches_a_failed_child_as_states_task_failed(cli: Cli) -> None:
    definition = parent(".sync:2", Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}])
    states = definition["States"]
    assert isinstance(states, dict)
    states["Caught"] = {"Type": "Pass", "End": True}
    cli.write("child.json", FAILING)
    cli.write("parent.asl.json", definition)
    done = cli(
        "run", "parent.asl.json", "--input", '{"n": 3}', "--machine-file", "child=child.json",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done
    output = done.json()["output"]
    assert output["Error"] == "States.TaskFailed"
    cause = json.loads(output["Cause"])
    assert without_dates(cause) == {
        "Cause": "on purpose",
        "Error": "Boom",
        "ExecutionArn": KID_ARN,
        "Input": '{"n":3}',
        "InputDetails": {"Included": True},
        "Name": "kid",
        "RedriveCount": 0,
        "RedriveStatus": "REDRIVABLE",
        "StateMachineArn": CHILD_ARN,
        "Status": "FAILED",
    }


def test_run_finds_the_child_in_a_store(cli: Cli) -> None:
    cli.write("child.asl.json", CHILD)
    registered = cli("start", "child.asl.json", "--detach", "--name", "registration")
    assert registered.code == 0, registered
    cli.write("parent.asl.json", parent(".sync:2"))
    done = cli("run", "parent.asl.json", "--input", '{"n": 3}', "--store", cli.store, "--json")
    assert done.code == 0, done
    assert without_dates(done.json()["output"]) == EXPECTED[".sync:2"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("child", "asl: --machine-file wants NAME=FILE, got 'child'\n"),
        ("=child.json", "asl: --machine-file wants NAME=FILE, got '=child.json'\n"),
    ],
)
def test_run_refuses_a_malformed_machine_file(cli: Cli, value: str, message: str) -> None:
    cli.write("parent.asl.json", parent(".sync"))
    done = cli("run", "parent.asl.json", "--machine-file", value)
    assert assert_one_asl_line(done) == message


def test_run_reports_an_invalid_machine_file_where_it_is(cli: Cli) -> None:
    cli.write("child.json", {"StartAt": "Nowhere", "States": {}})
    cli.write("parent.asl.json", parent(".sync"))
    done = cli("run", "parent.asl.json", "--machine-file", "child=child.json")
    assert done.code == 2
    assert done.out == ""
    assert done.err.startswith("child.json: ")


@pytest.mark.parametrize("detach", [False, True], ids=["attached", "detached"])
def test_start_runs_the_child_registered_in_the_store(cli: Cli, detach: bool) -> None:
    cli.write("child.asl.json", CHILD)
    assert cli("start", "child.asl.json", "--detach", "--name", "registration").code == 0
    cli.write("parent.asl.json", parent(".sync:2"))
    args = ["start", "parent.asl.json", "--input", '{"n": 3}', "--name", "p"]
    started = cli(*args, "--detach") if detach else cli(*args, "--json")
    assert started.code == 0, started
    arn = started.json()["executionArn"]
    if detach:
        cli.worker_until_idle()
    described = cli.describe(arn)
    assert described["status"] == "SUCCEEDED"
    assert without_dates(json.loads(described["output"])) == EXPECTED[".sync:2"]
    # the child names its parent (an addition to AWS's DescribeExecution)
    assert cli.describe(KID_ARN)["parentExecutionArn"] == arn
    assert "parentExecutionArn" not in described
