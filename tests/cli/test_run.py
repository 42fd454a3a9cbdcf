"""`asl run DEF`: the summary, `--json` and `--history` modes and every exit status.

Exit 0 SUCCEEDED; 1 FAILED, TIMED_OUT or ABORTED; 2 usage error, unreadable file, invalid
definition, input that is not JSON or over 256 KiB, an invalid `--name`, a functions file that
cannot be loaded (one `asl: ` line, nothing on stdout, never a traceback).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.cli.harness import (
    ACCOUNT,
    EVENT_KEYS,
    FUNCTIONS,
    INVALID_LINES,
    ISO,
    MACHINES,
    RUN_KEYS,
    Cli,
    assert_one_asl_line,
    execution_arn,
)

INVALID_NAME = (
    "asl: InvalidName: Invalid Name: {name!r}: an execution name has 1 to 80 characters, "
    "without whitespace, brackets, wildcards, special or control characters\n"
)


def seconds_between(start: str, stop: str) -> float:
    parse = datetime.fromisoformat
    return (parse(stop) - parse(start)).total_seconds()


# (machine, extra arguments, exit status, the summary's lines after `execution  ARN`)
SUMMARY_CASES = {
    "succeeded": ("hello", [], 0, ["status     SUCCEEDED", 'output     {"hello": "world"}']),
    "fail-state": (
        "fails",
        [],
        1,
        ["status     FAILED", "error      Oops", "cause      on purpose"],
    ),
    "timed-out": (
        "times_out",
        ["--virtual-time"],
        1,
        [
            "status     TIMED_OUT",
            "error      States.Timeout",
            "cause      The execution timed out.",
        ],
    ),
    "task-result": (
        "echo",
        ["--functions", FUNCTIONS, "--input", '{"order": "o-1", "café": 1}'],
        0,
        ["status     SUCCEEDED", 'output     {"order": "o-1", "café": 1}'],
    ),
    "day-long-wait-on-virtual-time": (
        "waits",
        ["--functions", FUNCTIONS, "--input", "[1, 2]", "--virtual-time"],
        0,
        ["status     SUCCEEDED", "output     [1, 2]"],
    ),
    "unknown-function": (
        "echo",
        [],
        1,
        [
            "status     FAILED",
            "error      Lambda.ResourceNotFoundException",
            "cause      Function not found: arn:aws:lambda:us-east-1:111111111111:function:echo:"
            "$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException"
            "; Request ID: …",  # a fresh id per call
        ],
    ),
}


def matches(printed: list[str], expected: list[str]) -> bool:
    """Line for line; an expected line ending with `…` is a prefix."""
    return len(printed) == len(expected) and all(
        line.startswith(want[:-1]) if want.endswith("…") else line == want
        for line, want in zip(printed, expected, strict=True)
    )


@pytest.mark.parametrize(
    ("machine", "args", "code", "lines"), list(SUMMARY_CASES.values()), ids=list(SUMMARY_CASES)
)
def test_run_summary(cli: Cli, machine: str, args: list[str], code: int, lines: list[str]) -> None:
    done = cli("run", cli.machine(machine), "--name", "n-1", *args)
    assert (done.code, done.err) == (code, "")
    assert matches(done.lines(), [f"execution  {execution_arn(machine, 'n-1')}", *lines])


def test_run_summary_of_a_raising_handler_has_the_lambda_envelope_as_cause(cli: Cli) -> None:
    done = cli(
        "run", cli.machine("declines"), "--functions", FUNCTIONS, "--input", '{"order": "o-7"}'
    )
    assert (done.code, done.err) == (1, "")
    status, error, cause = done.lines()[1:]
    assert (status, error) == ("status     FAILED", "error      Declined")
    envelope = json.loads(cause.removeprefix("cause      "))
    assert list(envelope) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (envelope["errorMessage"], envelope["errorType"]) == (
        "order o-7 was declined",
        "Declined",
    )


# (machine, extra arguments, exit status, status, output, error, cause, seconds from start to stop)
JSON_CASES = {
    "succeeded": ("hello", [], 0, "SUCCEEDED", {"hello": "world"}, None, None, None),
    "input-file": (
        "echo",
        ["--input-file", "in.json"],
        0,
        "SUCCEEDED",
        {"from": "file"},
        None,
        None,
        None,
    ),
    "failed": ("fails", [], 1, "FAILED", None, "Oops", "on purpose", None),
    "timed-out": (
        "times_out",
        ["--virtual-time"],
        1,
        "TIMED_OUT",
        None,
        "States.Timeout",
        "The execution timed out.",
        5,
    ),
    "virtual-day": ("waits", ["--virtual-time"], 0, "SUCCEEDED", {}, None, None, None),
}


@pytest.mark.parametrize(
    ("machine", "args", "code", "status", "output", "error", "cause", "seconds"),
    list(JSON_CASES.values()),
    ids=list(JSON_CASES),
)
def test_run_json_is_one_object_with_the_documented_keys(
    cli: Cli,
    machine: str,
    args: list[str],
    code: int,
    status: str,
    output: object,
    error: str | None,
    cause: str | None,
    seconds: float | None,
) -> None:
    cli.write("in.json", {"from": "file"})
    done = cli(
        "run", cli.machine(machine), "--functions", FUNCTIONS, "--name", "j", *args, "--json"
    )
    assert (done.code, done.err) == (code, "")
    result = done.json()
    assert list(result) == RUN_KEYS
    assert (result["executionArn"], result["name"]) == (execution_arn(machine, "j"), "j")
    assert (result["status"], result["output"], result["error"], result["cause"]) == (
        status,
        output,
        error,
        cause,
    )
    assert ISO.match(result["startDate"])
    assert ISO.match(result["stopDate"])
    if seconds is not None:
        assert seconds_between(result["startDate"], result["stopDate"]) == seconds
    if machine == "waits":  # a day of Wait, none of it real
        assert seconds_between(result["startDate"], result["stopDate"]) >= 86400


def test_run_json_with_history_adds_the_events_in_aws_shape(cli: Cli) -> None:
    done = cli("run", cli.machine("fails"), "--json", "--history")
    assert done.code == 1
    result = done.json()
    assert list(result) == [*RUN_KEYS, "events"]
    events = result["events"]
    assert [(e["id"], e["previousEventId"], e["type"]) for e in events] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "FailStateEntered"),
        (3, 2, "ExecutionFailed"),
    ]
    for event in events:
        details = [k for k in event if k.endswith("EventDetails")]
        assert set(event) == EVENT_KEYS | set(details)
        assert len(details) <= 1
        assert ISO.match(event["timestamp"])
    assert events[-1]["executionFailedEventDetails"] == {"error": "Oops", "cause": "on purpose"}


def test_run_history_text_is_a_table_after_the_summary(cli: Cli) -> None:
    done = cli("run", cli.machine("hello"), "--history", "--name", "h")
    assert (done.code, done.err) == (0, "")
    lines = done.lines()
    assert lines[:4] == [
        f"execution  {execution_arn('hello', 'h')}",
        "status     SUCCEEDED",
        'output     {"hello": "world"}',
        "",
    ]
    assert lines[4] == f"{'id':>4}  {'prev':>4}  {'type':<32}  detail"
    rows = lines[5:]
    assert [row[:46].split() for row in rows] == [
        ["1", "0", "ExecutionStarted"],
        ["2", "0", "PassStateEntered"],
        ["3", "2", "PassStateExited"],
        ["4", "3", "ExecutionSucceeded"],
    ]
    assert all(len(row[46:]) <= 80 for row in rows)  # details are cut to 80 characters
    assert rows[0][44:].endswith("...")


def test_run_express_has_the_express_arn(cli: Cli) -> None:
    done = cli("run", cli.machine("hello"), "--type", "EXPRESS", "--name", "e", "--json")
    assert done.code == 0
    arn = done.json()["executionArn"]
    prefix = f"{ACCOUNT}:express:hello:e:"
    assert arn.startswith(prefix)
    assert len(arn) == len(prefix) + 36  # a UUID


def test_run_yaml_definition(cli: Cli) -> None:
    path = cli.write("greet.asl.yaml", "StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n")
    done = cli("run", path, "--input", '{"a": 1}', "--json", "--name", "y")
    assert (done.code, done.json()["output"], done.json()["executionArn"]) == (
        0,
        {"a": 1},
        execution_arn("greet", "y"),
    )


def test_run_default_name_is_a_uuid(cli: Cli) -> None:
    result = cli("run", cli.machine("hello"), "--json").json()
    assert len(result["name"]) == 36
    assert result["executionArn"] == execution_arn("hello", result["name"])


# -- exit 2: one `asl:` line -------------------------------------------------------------------

BAD_PY = "def f(event, context):\n    return (\n"
USAGE_CASES = {
    "name-with-space": (["--name", "a b"], INVALID_NAME.format(name="a b")),
    "name-empty": (["--name", ""], INVALID_NAME.format(name="")),
    "name-81-characters": (["--name", "x" * 81], INVALID_NAME.format(name="x" * 81)),
    "name-with-slash": (["--name", "a/b"], INVALID_NAME.format(name="a/b")),
    "docs-bad-input": (
        ["--input", '{"actor": [1,}'],
        "asl: --input: the execution input is not valid JSON: Expecting value (line 1, "
        "column 14)\n",
    ),
    "input-file-not-json": (
        ["--input-file", "bad.txt"],
        "asl: bad.txt: the execution input is not valid JSON: Expecting value (line 1, column 1)\n",
    ),
    "input-file-missing": (["--input-file", "none.json"], "asl: none.json: no such file\n"),
    "input-over-256-kib": (
        ["--input-file", "huge.json"],
        "asl: InvalidExecutionInput: The execution input exceeds the 262144 bytes limit.\n",
    ),
    "functions-syntax-error": (
        ["--functions", "bad.py"],
        "asl: Cannot load functions from 'bad.py': line 2: syntax error: '(' was never closed\n",
    ),
    "functions-none-defined": (
        ["--functions", "nofn.py"],
        "asl: Cannot load functions from 'nofn.py': it defines no functions (expected "
        "top-level `def NAME(event, context)`)\n",
    ),
    "functions-raise-on-import": (
        ["--functions", "raises.py"],
        "asl: Cannot load functions from 'raises.py': line 1: importing it raised "
        "RuntimeError: nope\n",
    ),
    "functions-missing": (
        ["--functions", "missing.py"],
        "asl: Cannot load functions from 'missing.py': no such file\n",
    ),
    "functions-module-missing": (
        ["--functions", "no.such.module"],
        "asl: Cannot load functions from 'no.such.module': no module named 'no'\n",
    ),
    "test-case-without-mock-config": (
        ["--test-case", "Happy"],
        "asl: InvalidArn: Invalid Arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:"
        "hello#Happy': the test case 'Happy' needs a mock config; start the engine with "
        "--mock-config FILE (or SFN_MOCK_CONFIG=FILE)\n",
    ),
}


@pytest.mark.parametrize(("args", "err"), list(USAGE_CASES.values()), ids=list(USAGE_CASES))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_run_usage_errors_exit_2_with_one_line(
    cli: Cli, args: list[str], err: str, as_json: bool
) -> None:
    cli.write("bad.txt", "not json")
    cli.write("huge.json", json.dumps({"x": "a" * 270_000}))
    cli.write("bad.py", BAD_PY)
    cli.write("nofn.py", "X = 1\n")
    cli.write("raises.py", 'raise RuntimeError("nope")\n')
    done = cli("run", cli.machine("hello"), *args, *(["--json"] if as_json else []))
    assert assert_one_asl_line(done) == err


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_run_unreadable_definition(cli: Cli, as_json: bool) -> None:
    done = cli("run", "nope.asl.json", *(["--json"] if as_json else []))
    assert assert_one_asl_line(done) == "asl: nope.asl.json: no such file\n"


def test_run_invalid_definition_prints_diagnostics_on_stderr(cli: Cli) -> None:
    path = cli.machine("invalid")
    done = cli("run", path)
    assert (done.code, done.out) == (2, "")
    assert done.err.splitlines() == [line.format(path=path) for line in INVALID_LINES]


def test_run_invalid_definition_with_json_also_prints_the_validate_object(cli: Cli) -> None:
    path = cli.machine("invalid")
    done = cli("run", path, "--json")
    assert done.code == 2
    report = done.json()
    assert list(report) == ["valid", "diagnostics"]
    assert report["valid"] is False
    assert [d["code"] for d in report["diagnostics"]] == [
        "MISSING_TRANSITION_TARGET",
        "MISSING_END_STATE",
    ]
    assert done.err.splitlines() == [line.format(path=path) for line in INVALID_LINES]


def test_run_input_and_input_file_are_exclusive(cli: Cli) -> None:
    cli.write("in.json", {})
    done = cli("run", cli.machine("hello"), "--input", "{}", "--input-file", "in.json")
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith("usage: asl run ")
    assert done.err.splitlines()[-1] == (
        "asl run: error: argument --input-file: not allowed with argument --input"
    )


def test_run_later_functions_files_win(cli: Cli) -> None:
    cli.write("other.py", "def echo(event, context):\n    return 'from other'\n")
    done = cli("run", cli.machine("echo"), "--functions", FUNCTIONS, "--functions", "other.py")
    assert done.lines()[1:] == ["status     SUCCEEDED", 'output     "from other"']


def test_run_machine_names_in_the_arn(cli: Cli) -> None:
    cli.write("sub/my-flow.v2.yaml", "StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n")
    cli.write(".x.json", MACHINES["hello"])
    for path, machine in (("sub/my-flow.v2.yaml", "my-flow"), (".x.json", "machine")):
        done = cli("run", path, "--name", "n", "--json")
        assert done.json()["executionArn"] == execution_arn(machine, "n")
