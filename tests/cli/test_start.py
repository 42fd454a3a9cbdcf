"""`asl start FILE`: attached (drives its execution, prints `asl run`'s result, exit 0 or 1) and
`--detach` (records it, prints `{"executionArn", "startDate"}`, exit 0; `asl worker` drives it),
and the differential check that `asl run`, `asl start` and `asl start --detach` + `asl worker`
agree on every machine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.harness import (
    DESCRIBE_KEYS,
    DESCRIBE_SUCCEEDED_KEYS,
    DETACHED_KEYS,
    FUNCTIONS,
    INVALID_LINES,
    ISO,
    LIST_ITEM_KEYS,
    MACHINES,
    RUN_KEYS,
    Cli,
    assert_one_asl_line,
    execution_arn,
)

# (machine, extra arguments, exit status, status, output, error)
ATTACHED_CASES = {
    "succeeded": ("hello", [], 0, "SUCCEEDED", {"hello": "world"}, None),
    "task": ("echo", ["--input", '{"n": 1}'], 0, "SUCCEEDED", {"n": 1}, None),
    "fail-state": ("fails", [], 1, "FAILED", None, "Oops"),
    "handler-raises": ("declines", [], 1, "FAILED", None, "Declined"),
    "day-long-wait": ("waits", ["--input", "{}", "--virtual-time"], 0, "SUCCEEDED", {}, None),
    "timed-out": ("times_out", ["--virtual-time"], 1, "TIMED_OUT", None, "States.Timeout"),
}


@pytest.mark.parametrize(
    ("machine", "args", "code", "status", "output", "error"),
    list(ATTACHED_CASES.values()),
    ids=list(ATTACHED_CASES),
)
def test_start_attached_json_returns_the_run_object(
    cli: Cli,
    machine: str,
    args: list[str],
    code: int,
    status: str,
    output: object,
    error: str | None,
) -> None:
    done = cli(
        "start", cli.machine(machine), "--functions", FUNCTIONS, "--name", "a", *args, "--json"
    )
    assert (done.code, done.err) == (code, "")
    result = done.json()
    assert list(result) == RUN_KEYS
    assert (result["executionArn"], result["name"]) == (execution_arn(machine, "a"), "a")
    assert (result["status"], result["output"], result["error"]) == (status, output, error)
    assert ISO.match(result["startDate"])
    assert ISO.match(result["stopDate"])


@pytest.mark.parametrize(
    ("machine", "args", "code", "status", "output", "error"),
    list(ATTACHED_CASES.values()),
    ids=list(ATTACHED_CASES),
)
def test_start_attached_text_is_the_run_summary(
    cli: Cli,
    machine: str,
    args: list[str],
    code: int,
    status: str,
    output: object,
    error: str | None,
) -> None:
    done = cli("start", cli.machine(machine), "--functions", FUNCTIONS, "--name", "a", *args)
    assert (done.code, done.err) == (code, "")
    lines = done.lines()
    assert lines[:2] == [f"execution  {execution_arn(machine, 'a')}", f"status     {status}"]
    if status == "SUCCEEDED":
        assert lines[2:] == [f"output     {json.dumps(output)}"]
    else:
        assert lines[2] == f"error      {error}"
        assert [line[:11] for line in lines[3:]] == ["cause      "]


def test_start_detach_records_and_worker_drives(cli: Cli) -> None:
    path = cli.machine("waits")
    started = cli("start", path, "--input", '{"k": "v"}', "--name", "d-1", "--detach")
    assert (started.code, started.err) == (0, "")
    record = started.json()
    assert list(record) == DETACHED_KEYS
    arn = execution_arn("waits", "d-1")
    assert record["executionArn"] == arn
    assert ISO.match(record["startDate"])

    running = cli.describe(arn)
    assert set(running) == DESCRIBE_KEYS
    assert (running["status"], running["input"], running["startDate"]) == (
        "RUNNING",
        '{"k":"v"}',
        record["startDate"],
    )
    listed = cli("list", "--json").json()
    assert [(e["executionArn"], e["status"]) for e in listed["executions"]] == [(arn, "RUNNING")]

    cli.worker_until_idle()

    described = cli.describe(arn)
    assert set(described) == DESCRIBE_SUCCEEDED_KEYS
    assert described == {
        "executionArn": arn,
        "stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:waits",
        "name": "d-1",
        "status": "SUCCEEDED",
        "startDate": record["startDate"],
        "input": '{"k":"v"}',
        "inputDetails": {"included": True},
        "stopDate": described["stopDate"],
        "output": '{"k":"v"}',
        "outputDetails": {"included": True},
        "redriveCount": 0,
    }
    assert ISO.match(described["stopDate"])
    assert [e["type"] for e in cli.events(arn)] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    listed = cli("list", "--json").json()
    assert [set(e) for e in listed["executions"]] == [LIST_ITEM_KEYS | {"stopDate"}]
    assert listed["executions"][0]["status"] == "SUCCEEDED"


def test_start_detach_prints_only_after_the_execution_is_recorded(cli: Cli) -> None:
    arn = cli.start_detached("hello", "r-1")
    # a second process (here: a second command) finds it at once
    assert cli.describe(arn)["status"] == "RUNNING"


def test_start_attached_drives_only_its_own_execution(cli: Cli) -> None:
    other = cli.start_detached("hello", "left-alone")
    done = cli("start", cli.machine("hello"), "--name", "mine", "--json")
    assert (done.code, done.json()["status"]) == (0, "SUCCEEDED")
    assert cli.describe(other)["status"] == "RUNNING"  # for `asl worker`, not for this start


def test_start_same_name_and_input_while_running_returns_that_execution(cli: Cli) -> None:
    path = cli.machine("callback")
    first = cli("start", path, "--input", '{"a": 1}', "--name", "same", "--detach")
    again = cli("start", path, "--input", '{"a": 1}', "--name", "same", "--detach")
    assert (first.code, again.code) == (0, 0)
    assert again.json() == first.json()


ALREADY = "asl: ExecutionAlreadyExists: Execution Already Exists: '{arn}'\n"


def test_start_same_name_other_input_is_execution_already_exists(cli: Cli) -> None:
    arn = cli.start_detached("callback", "taken", "--input", '{"a": 1}')
    path = cli.machine("callback")
    for detach in ([], ["--detach"]):
        done = cli("start", path, "--input", '{"a": 2}', "--name", "taken", *detach)
        assert assert_one_asl_line(done) == ALREADY.format(arn=arn)


def test_start_a_closed_name_is_execution_already_exists(cli: Cli) -> None:
    path = cli.machine("hello")
    assert cli("start", path, "--name", "once").code == 0
    for detach in ([], ["--detach"]):
        done = cli("start", path, "--name", "once", *detach)
        assert assert_one_asl_line(done) == ALREADY.format(arn=execution_arn("hello", "once"))


def test_start_a_changed_file_updates_the_machine(cli: Cli) -> None:
    path = cli.machine("hello")
    assert cli("start", path, "--json").json()["output"] == {"hello": "world"}
    changed: dict[str, Any] = json.loads(json.dumps(MACHINES["hello"]))
    changed["States"]["Hello"]["Result"] = {"hello": "again"}
    cli.write(path, changed)
    assert cli("start", path, "--json").json()["output"] == {"hello": "again"}


def test_start_another_type_than_the_stored_machine_exits_2(cli: Cli) -> None:
    path = cli.machine("hello")
    assert cli("start", path).code == 0
    done = cli("start", path, "--type", "EXPRESS")
    assert assert_one_asl_line(done) == (
        "asl: hello.asl.json: the state machine 'hello' is a STANDARD machine in this store, "
        "not EXPRESS: start it with --type STANDARD, or give the file another name\n"
    )


@pytest.mark.parametrize("detach", [[], ["--detach"]], ids=["attached", "detached"])
def test_start_invalid_definition_exits_2_and_records_nothing(cli: Cli, detach: list[str]) -> None:
    path = cli.machine("invalid")
    done = cli("start", path, *detach)
    assert (done.code, done.out) == (2, "")
    assert done.err.splitlines() == [line.format(path=path) for line in INVALID_LINES]
    assert cli("list", "--json").json() == {"executions": []}


INVALID_NAME = (
    "asl: InvalidName: Invalid Name: 'a b': an execution name has 1 to 80 characters, without "
    "whitespace, brackets, wildcards, special or control characters\n"
)
# (arguments after FILE, the one line)
USAGE_CASES = {
    "name-with-space": (["--name", "a b"], INVALID_NAME),
    "bad-input": (
        ["--input", "[1,"],
        "asl: --input: the execution input is not valid JSON: Expecting value (line 1, column 4)\n",
    ),
    "missing-functions": (
        ["--functions", "missing.py"],
        "asl: Cannot load functions from 'missing.py': no such file\n",
    ),
    "store-url": (
        ["--store", "bogus://x"],
        "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
        "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n",
    ),
    "unknown-test-case": (
        ["--test-case", "Nope"],
        "asl: InvalidArn: Invalid Arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:"
        "hello#Nope': the test case 'Nope' needs a mock config; start the engine with "
        "--mock-config FILE (or SFN_MOCK_CONFIG=FILE)\n",
    ),
}


@pytest.mark.parametrize(("args", "err"), list(USAGE_CASES.values()), ids=list(USAGE_CASES))
@pytest.mark.parametrize("detach", [[], ["--detach"]], ids=["attached", "detached"])
def test_start_usage_errors_exit_2_with_one_line(
    cli: Cli, args: list[str], err: str, detach: list[str]
) -> None:
    done = cli("start", cli.machine("hello"), *args, *detach)
    assert assert_one_asl_line(done) == err


def test_start_missing_file_exits_2(cli: Cli) -> None:
    assert (
        assert_one_asl_line(cli("start", "nope.asl.json")) == "asl: nope.asl.json: no such file\n"
    )


def test_start_input_over_256_kib_is_the_same_line_as_run(cli: Cli) -> None:
    cli.write("huge.json", json.dumps({"x": "a" * 270_000}))
    path = cli.machine("hello")
    ran = cli("run", path, "--input-file", "huge.json")
    started = cli("start", path, "--input-file", "huge.json")
    assert assert_one_asl_line(ran) == (
        "asl: InvalidExecutionInput: The execution input exceeds the 262144 bytes limit.\n"
    )
    assert assert_one_asl_line(started) == ran.err


# -- run, start and start --detach + worker agree ------------------------------------------------

DIFFERENTIAL = {
    "hello": "{}",
    "echo": '{"order": "o-1", "items": [1, 2]}',
    "fails": "{}",
    "declines": '{"order": "o-2"}',
    "waits": '{"w": true}',
    "times_out": "{}",
}


def outcome_of(result: dict[str, Any]) -> tuple[object, ...]:
    """What must agree between the paths (the cause's request id of a raising handler aside)."""
    cause = result["cause"]
    if result["error"] == "Declined":
        cause = json.loads(cause)["errorMessage"]
    return (result["status"], result["output"], result["error"], cause)


@pytest.mark.parametrize(("machine", "given"), list(DIFFERENTIAL.items()), ids=list(DIFFERENTIAL))
def test_run_start_and_detached_worker_agree(cli: Cli, machine: str, given: str) -> None:
    path = cli.machine(machine)
    common = ["--functions", FUNCTIONS, "--input", given, "--virtual-time"]
    ran = cli("run", path, *common, "--name", "via-run", "--json", "--history")
    attached = cli("start", path, *common, "--name", "via-start", "--json")
    detached = cli("start", path, "--input", given, "--name", "via-worker", "--detach")
    assert detached.code == 0
    cli.worker_until_idle()
    arn = execution_arn(machine, "via-worker")
    described = cli.describe(arn)
    worked = {
        "status": described["status"],
        "output": json.loads(described["output"]) if "output" in described else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    assert ran.code == attached.code
    assert outcome_of(ran.json()) == outcome_of(attached.json()) == outcome_of(worked)
    types = [e["type"] for e in ran.json()["events"]]
    assert [e["type"] for e in cli.events(execution_arn(machine, "via-start"))] == types
    assert [e["type"] for e in cli.events(arn)] == types
