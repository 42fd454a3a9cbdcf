"""`asl test-state`: the report, --json (AWS's answer), the exit statuses of docs/cli.md, and
Tasks calling --functions handlers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.harness import Cli, assert_one_asl_line

FUNCTIONS = str(Path(__file__).with_name("functions.py"))
CHOICE = {
    "Type": "Choice",
    "Choices": [
        {"Variable": "$.number", "NumericEquals": 1, "Next": "Equals 1"},
        {"Variable": "$.number", "NumericEquals": 2, "Next": "Equals 2"},
    ],
    "Default": "No Match",
}
RETRYING = {
    "Type": "Task",
    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:refuse",
    "Retry": [{"ErrorEquals": ["OrderRefused"], "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Apologise"}],
    "End": True,
}


def test_the_report_names_status_next_state_and_output(cli: Cli) -> None:
    path = cli.write("choice.json", CHOICE)
    outcome = cli("test-state", path, "--input", '{"number": 2}')
    assert (outcome.code, outcome.err) == (0, "")
    assert outcome.lines() == ["status: SUCCEEDED", "next state: Equals 2", 'output: {"number": 2}']


def test_json_is_awss_answer(cli: Cli) -> None:
    path = cli.write("choice.json", CHOICE)
    outcome = cli("test-state", path, "--input", '{"number": 1}', "--json")
    assert outcome.json() == {
        "output": '{"number": 1}',
        "nextState": "Equals 1",
        "status": "SUCCEEDED",
    }


@pytest.mark.parametrize(
    ("args", "code", "status"),
    [
        (["--mock-result", '{"ok": true}'], 0, "SUCCEEDED"),
        (["--mock-error", "OrderRefused", "--mock-cause", "no"], 1, "RETRIABLE"),
        (["--mock-error", "OrderRefused", "--retrier-retry-count", "2"], 0, "CAUGHT_ERROR"),
        (["--mock-error", "States.Runtime"], 1, "FAILED"),
    ],
    ids=["succeeded", "retriable", "caught", "failed"],
)
def test_exit_statuses(cli: Cli, args: list[str], code: int, status: str) -> None:
    path = cli.write("task.json", RETRYING)
    outcome = cli("test-state", path, *args, "--json")
    assert (outcome.code, outcome.json()["status"]) == (code, status)


def test_a_task_calls_a_functions_handler(cli: Cli) -> None:
    path = cli.write("task.json", RETRYING)
    outcome = cli(
        "test-state",
        path,
        "--functions",
        FUNCTIONS,
        "--retrier-retry-count",
        "2",
        "--inspection-level",
        "DEBUG",
    )
    assert outcome.code == 0
    lines = outcome.lines()
    assert lines[:2] == ["status: CAUGHT_ERROR", "next state: Apologise"]
    assert "error: OrderRefused" in lines
    assert 'inspectionData.errorDetails: {"retryIndex": 0, "catchIndex": 0}' in lines


def test_a_state_of_a_machine_file(cli: Cli) -> None:
    machine = {
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    path = cli.write("machine.json", machine)
    outcome = cli(
        "test-state",
        path,
        "--state",
        "Double",
        "--input",
        '{"value": 4}',
        "--functions",
        FUNCTIONS,
        "--json",
    )
    assert outcome.json() == {"output": '{"value":8}', "nextState": "Done", "status": "SUCCEEDED"}


def test_an_invalid_state_prints_its_diagnostics(cli: Cli) -> None:
    path = cli.write("bad.json", {"Type": "Pass"})
    outcome = cli("test-state", path)
    assert (outcome.code, outcome.out) == (2, "")
    assert outcome.err.startswith("bad.json: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--mock-result", "1", "--mock-error", "E"],
            "asl: give --mock-result or --mock-error, not both\n",
        ),
        (["--mock-cause", "C"], "asl: --mock-cause needs --mock-error\n"),
        (
            ["--mock-result", "1"],
            "asl: ValidationException: A mock can only be specified for Task, Map, or "
            "Parallel states, not a Choice state.\n",
        ),
    ],
    ids=["two-mocks", "cause-alone", "mock-on-choice"],
)
def test_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    path = cli.write("choice.json", CHOICE)
    assert assert_one_asl_line(cli("test-state", path, *args)) == message


def test_yaml_and_input_file(cli: Cli) -> None:
    path = cli.write("pass.yaml", "Type: Pass\nResult: {done: true}\nResultPath: $.r\nEnd: true\n")
    given = cli.write("input.json", json.dumps({"id": 3}))
    outcome = cli("test-state", path, "--input-file", given, "--json")
    assert outcome.json() == {"output": '{"id":3,"r":{"done":true}}', "status": "SUCCEEDED"}


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI (aws) is not installed")
def test_the_aws_clis_test_state(served: str) -> None:
    """`aws stepfunctions test-state` against asl serve: the AWS CLI's own parameters."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "End": True,
        "Parameters": {"FunctionName": "f"},
        "Retry": [{"ErrorEquals": ["E"]}],
    }
    done = subprocess.run(
        [
            "aws",
            "stepfunctions",
            "test-state",
            "--endpoint-url",
            served,
            "--definition",
            json.dumps(state),
            "--inspection-level",
            "DEBUG",
            "--mock",
            '{"errorOutput": {"error": "E", "cause": "c"}}',
            "--state-configuration",
            '{"retrierRetryCount": 1}',
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "error": "E",
        "cause": "c",
        "inspectionData": {
            "input": "{}",
            "afterInputPath": "{}",
            "afterParameters": '{"FunctionName":"f"}',
            "errorDetails": {"retryIndex": 0, "retryBackoffIntervalSeconds": 2},
        },
        "status": "RETRIABLE",
    }
