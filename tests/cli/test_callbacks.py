"""`asl send-task-success|send-task-failure|send-task-heartbeat TOKEN` on a `.waitForTaskToken`
machine, and `asl stop ARN`.

Callbacks: exit 0 and print nothing when accepted; exit 2 with one line for a malformed token
(`InvalidToken`), an unknown or answered one (`TaskDoesNotExist`, as the API answers), a timed
out one (`TaskTimedOut`) or output that is not JSON. Stop: prints `{"stopDate"}` and exits 0;
the worker holding the execution ends it ABORTED with the error and cause given.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.harness import (
    ISO,
    TASK_DOES_NOT_EXIST,
    Cli,
    assert_one_asl_line,
    execution_arn,
)

SUBMITTED = [
    "ExecutionStarted",
    "TaskStateEntered",
    "TaskScheduled",
    "TaskStarted",
    "TaskSubmitted",
]


def parked(cli: Cli, name: str, machine: str = "callback") -> tuple[str, str]:
    """A detached execution waiting on its task token, and the token."""
    arn = cli.start_detached(machine, name)
    cli.worker_until_idle()
    assert [e["type"] for e in cli.events(arn)] == SUBMITTED
    return arn, cli.token(arn)


def accepted(cli: Cli, *args: str) -> None:
    done = cli(*args)
    assert (done.code, done.out, done.err) == (0, "", "")


# (command and its arguments after TOKEN, status, describe's fields after the worker ran)
ANSWERS = {
    "success": (
        ["send-task-success", "--output", '{"approved": true, "by": "ana"}'],
        "SUCCEEDED",
        {"output": '{"approved":true,"by":"ana"}'},
    ),
    "success-default-output": (["send-task-success"], "SUCCEEDED", {"output": "{}"}),
    "failure": (
        ["send-task-failure", "--error", "Rejected", "--cause", "over budget"],
        "FAILED",
        {"error": "Rejected", "cause": "over budget"},
    ),
}


@pytest.mark.parametrize(("command", "status", "fields"), list(ANSWERS.values()), ids=list(ANSWERS))
def test_an_answer_is_accepted_silently_and_the_worker_closes_the_execution(
    cli: Cli, command: list[str], status: str, fields: dict[str, str]
) -> None:
    arn, token = parked(cli, "a-1")
    accepted(cli, command[0], token, *command[1:])
    assert cli.describe(arn)["status"] == "RUNNING"  # queued for a worker
    cli.worker_until_idle()
    described = cli.describe(arn)
    assert described["status"] == status
    assert {key: described.get(key) for key in fields} == fields


@pytest.mark.parametrize("again", ["send-task-success", "send-task-failure", "send-task-heartbeat"])
@pytest.mark.parametrize("worker_ran", [False, True], ids=["queued", "applied"])
def test_an_answered_token_is_task_does_not_exist(cli: Cli, again: str, worker_ran: bool) -> None:
    _, token = parked(cli, "twice")
    accepted(cli, "send-task-success", token, "--output", '{"n": 1}')
    if worker_ran:
        cli.worker_until_idle()
    assert assert_one_asl_line(cli(again, token)) == TASK_DOES_NOT_EXIST


def test_a_heartbeat_is_accepted_and_keeps_the_task_open(cli: Cli) -> None:
    arn, token = parked(cli, "beat")
    accepted(cli, "send-task-heartbeat", token)
    accepted(cli, "send-task-heartbeat", token)  # as often as the worker likes
    cli.worker_until_idle()
    assert cli.describe(arn)["status"] == "RUNNING"
    accepted(cli, "send-task-success", token, "--output", "[1]")
    cli.worker_until_idle()
    assert cli.describe(arn)["output"] == "[1]"


TIMED_OUT_MACHINE = {
    "StartAt": "First",
    "States": {
        "First": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "note", "Payload": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 60,
            "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Second"}],
            "End": True,
        },
        "Second": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "note", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        },
    },
}


def test_a_timed_out_token_is_task_timed_out(cli: Cli) -> None:
    path = cli.write("late.asl.json", TIMED_OUT_MACHINE)
    started = cli("start", path, "--name", "late", "--detach")
    assert started.code == 0
    arn = execution_arn("late", "late")
    cli.worker_until_idle()  # the first task's heartbeat times out; the second one waits
    events = cli.events(arn)
    assert "TaskTimedOut" in [e["type"] for e in events]
    first = json.loads(
        next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"][
            "parameters"
        ]
    )["Payload"]["token"]
    for command in ("send-task-success", "send-task-failure", "send-task-heartbeat"):
        assert assert_one_asl_line(cli(command, first)) == (
            "asl: TaskTimedOut: Task Timed Out: the task of this token timed out\n"
        )


# (command, its arguments, the one line)
REFUSED = {
    "success-unknown": (["send-task-success", "no-such-token"], TASK_DOES_NOT_EXIST),
    "failure-unknown": (["send-task-failure", "no-such-token"], TASK_DOES_NOT_EXIST),
    "heartbeat-unknown": (["send-task-heartbeat", "no-such-token"], TASK_DOES_NOT_EXIST),
    "success-empty": (
        ["send-task-success", ""],
        "asl: InvalidToken: Invalid Token: the task token is malformed\n",
    ),
    "failure-too-long": (
        ["send-task-failure", "t" * 2049],
        "asl: InvalidToken: Invalid Token: the task token is malformed\n",
    ),
    "output-not-json": (
        ["send-task-success", "no-such-token", "--output", "not json"],
        "asl: InvalidOutput: Invalid Output: 'Expecting value' at line 1, column 1\n",
    ),
    "store-url": (
        ["send-task-heartbeat", "t", "--store", "bogus://x"],
        "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
        "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n",
    ),
}


@pytest.mark.parametrize(("args", "err"), list(REFUSED.values()), ids=list(REFUSED))
def test_refused_callbacks_exit_2_with_one_line(cli: Cli, args: list[str], err: str) -> None:
    assert assert_one_asl_line(cli(*args)) == err


# -- asl stop ----------------------------------------------------------------------------------


def test_stop_prints_the_stop_date_and_the_worker_aborts(cli: Cli) -> None:
    arn, _ = parked(cli, "approve-1")
    done = cli("stop", arn, "--error", "Cancelled", "--cause", "no longer needed")
    assert (done.code, done.err) == (0, "")
    stopped = done.json()
    assert list(stopped) == ["stopDate"]
    assert ISO.match(stopped["stopDate"])
    cli.worker_until_idle()
    described = cli("describe", arn)
    assert (described.code, described.err) == (0, "")
    assert described.lines() == [  # docs/cli.md's example
        f"execution  {arn}",
        "status     ABORTED",
        "error      Cancelled",
        "cause      no longer needed",
    ]
    assert [e["type"] for e in cli.events(arn)][-2:] == ["TaskStateAborted", "ExecutionAborted"]


def test_stop_without_error_or_cause(cli: Cli) -> None:
    arn, _ = parked(cli, "plain")
    assert cli("stop", arn).code == 0
    cli.worker_until_idle()
    described = cli.describe(arn)
    assert described["status"] == "ABORTED"
    assert "error" not in described
    assert "cause" not in described


def test_stop_a_closed_execution_answers_its_own_stop_date(cli: Cli) -> None:
    path = cli.machine("hello")
    closed = cli("start", path, "--name", "done", "--json").json()
    again = cli("stop", closed["executionArn"])
    assert (again.code, again.err) == (0, "")
    assert again.json() == {"stopDate": closed["stopDate"]}
    assert cli.describe(closed["executionArn"])["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("arn", "err"),
    [
        (
            execution_arn("nope", "x"),
            "asl: ExecutionDoesNotExist: Execution Does Not Exist: "
            "'arn:aws:states:us-east-1:111111111111:execution:nope:x'\n",
        ),
        ("not-an-arn", "asl: InvalidArn: Invalid Arn: 'not-an-arn'\n"),
    ],
    ids=["unknown", "malformed"],
)
def test_stop_refused_exits_2_with_one_line(cli: Cli, arn: str, err: str) -> None:
    assert assert_one_asl_line(cli("stop", arn, "--error", "E")) == err
