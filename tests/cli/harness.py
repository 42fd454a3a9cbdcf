"""What the `asl` contract tests share: the command in this process or as a real process, the
machines they run, the JSON keys scripts rely on, and polling the store with a deadline.

The contract is docs/cli.md (and docs/api.md for `asl serve`): exit codes, stdout shapes and
the one `asl: ...` line on stderr. Most cases call `engine.cli.main([...])` in this process
(`Cli`); `run_process` runs the installed entry points (`.venv/bin/asl` and
`python -m engine.cli`) to prove they behave the same.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.cli import main

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = str(Path(__file__).with_name("functions.py"))
ASL = str(Path(sys.executable).parent / "asl")
ENTRY_POINTS = {"asl": [ASL], "python-m": [sys.executable, "-m", "engine.cli"]}
# Variables the commands read: none may leak in from the environment running the tests.
VARIABLES = ("ASL_STORE", "ASL_HOME", "ASL_CONFIG", "SFN_MOCK_CONFIG", "ASL_API_TOKEN")

ACCOUNT = "arn:aws:states:us-east-1:111111111111"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The objects scripts parse, key for key and in this order.
RUN_KEYS = ["executionArn", "name", "status", "output", "error", "cause", "startDate", "stopDate"]
DETACHED_KEYS = ["executionArn", "startDate"]
# DescribeExecution's and ListExecutions' members (as sets: docs/cli.md shows them in another
# order, and order means nothing to a JSON reader; `asl run --json` pins its order above).
DESCRIBE_KEYS = frozenset(
    {"executionArn", "stateMachineArn", "name", "status", "startDate", "input", "inputDetails"}
    | {"redriveCount"}
)
DESCRIBE_SUCCEEDED_KEYS = DESCRIBE_KEYS | {"stopDate", "output", "outputDetails"}
DESCRIBE_FAILED_KEYS = DESCRIBE_KEYS | {"stopDate", "error", "cause"}
LIST_ITEM_KEYS = frozenset({"executionArn", "stateMachineArn", "name", "status", "startDate"})
EVENT_KEYS = frozenset(
    {"timestamp", "type", "id", "previousEventId"}
)  # and one `...EventDetails` member

TASK_DOES_NOT_EXIST = (
    "asl: TaskDoesNotExist: Task Does Not Exist: the task token is unknown or closed\n"
)


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:111111111111:function:{name}"


def task(function: str, **more: object) -> dict[str, object]:
    return {"Type": "Task", "Resource": lambda_arn(function), **more}


def callback_state(**more: object) -> dict[str, object]:
    """A `.waitForTaskToken` Task: `note` is invoked with the token, then the state waits."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "note", "Payload": {"token.$": "$$.Task.Token"}},
        **more,
    }


MACHINES: dict[str, dict[str, object]] = {
    "hello": {
        "StartAt": "Hello",
        "States": {"Hello": {"Type": "Pass", "Result": {"hello": "world"}, "End": True}},
    },
    "echo": {"StartAt": "Echo", "States": {"Echo": task("echo", End=True)}},
    "fails": {
        "StartAt": "Fail",
        "States": {"Fail": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"}},
    },
    "declines": {"StartAt": "Charge", "States": {"Charge": task("decline", End=True)}},
    # a day of Wait, then a Task: instant with --virtual-time only
    "waits": {
        "StartAt": "Sleep",
        "States": {
            "Sleep": {"Type": "Wait", "Seconds": 86400, "Next": "Echo"},
            "Echo": task("echo", End=True),
        },
    },
    "times_out": {
        "StartAt": "Sleep",
        "TimeoutSeconds": 5,
        "States": {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}},
    },
    "callback": {"StartAt": "Approve", "States": {"Approve": callback_state(End=True)}},
    "heartbeat": {
        "StartAt": "Approve",
        "States": {"Approve": callback_state(HeartbeatSeconds=60, End=True)},
    },
    "invalid": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}},
}

INVALID_LINES = [
    "{path}: /States/A/Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere; name a "
    "state of the same States object (a Parallel branch or Map processor cannot leave its own "
    "States)",
    "{path}: /States: MISSING_END_STATE: Workflow has no terminal state: give at least one state "
    "End: true, or add a Succeed or Fail state",
]


def execution_arn(machine: str, name: str) -> str:
    return f"{ACCOUNT}:execution:{machine}:{name}"


@dataclass(frozen=True)
class Outcome:
    """What one `asl` command did: its exit status and everything it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as the one JSON object on one line it must be."""
        assert self.out.count("\n") == 1, self.out
        assert self.out.endswith("\n"), self.out
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()


def assert_one_asl_line(outcome: Outcome, code: int = 2) -> str:
    """A usage error: the exit status, nothing on stdout, one `asl: ` line on stderr."""
    assert (outcome.code, outcome.out) == (code, ""), outcome
    assert outcome.err.startswith("asl: "), outcome.err
    assert outcome.err.count("\n") == 1, outcome.err
    return outcome.err


class Cli:
    """`asl` in this process: `engine.cli.main` with stdout and stderr captured, in a folder of
    its own whose `home/asl.db` is the default store (ASL_HOME)."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.capsys = capsys
        self.store = f"sqlite:///{folder / 'home' / 'asl.db'}"

    def __call__(self, *args: str) -> Outcome:
        self.capsys.readouterr()  # what a fixture or an earlier step printed is not ours
        code = main(list(args))
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def write(self, name: str, content: object) -> str:
        """A file in the test's folder (the working directory); returns its relative path."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text, "utf-8")
        return name

    def machine(self, key: str, file_name: str | None = None) -> str:
        """MACHINES[key] written as `KEY.asl.json` (so the machine is named KEY)."""
        return self.write(file_name or f"{key}.asl.json", MACHINES[key])

    def start_detached(self, key: str, name: str, *more: str) -> str:
        started = self("start", self.machine(key), "--name", name, "--detach", *more)
        assert started.code == 0, started
        arn: str = started.json()["executionArn"]
        return arn

    def worker_until_idle(self, *more: str) -> None:
        done = self("worker", "--functions", FUNCTIONS, "--until-idle", "--virtual-time", *more)
        assert (done.code, done.out, done.err) == (0, "", ""), done

    def describe(self, arn: str) -> dict[str, Any]:
        described = self("describe", arn, "--json")
        assert described.code == 0, described
        result: dict[str, Any] = described.json()
        return result

    def events(self, arn: str) -> list[dict[str, Any]]:
        history = self("history", arn, "--json")
        assert history.code == 0, history
        events: list[dict[str, Any]] = history.json()["events"]
        return events

    def token(self, arn: str) -> str:
        """The task token of the execution's `.waitForTaskToken` Task, from its history."""
        scheduled = [e for e in self.events(arn) if e["type"] == "TaskScheduled"]
        assert scheduled, f"{arn} scheduled no task"
        parameters = json.loads(scheduled[-1]["taskScheduledEventDetails"]["parameters"])
        token: str = parameters["Payload"]["token"]
        return token


def run_process(entry: str, args: Sequence[str], *, cwd: Path, timeout: float = 120) -> Outcome:
    """One `asl` command as a real process through an installed entry point."""
    done = subprocess.run(
        [*ENTRY_POINTS[entry], *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Outcome(done.returncode, done.stdout, done.stderr)


def asl_process(
    args: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """One `asl` command as a real process (`python -m engine.cli`) with exactly `env`."""
    return subprocess.run(
        [*ENTRY_POINTS["python-m"], *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


T = TypeVar("T")


def poll(check: Callable[[], T | None], what: str, seconds: float = 60.0) -> T:
    """`check()` until it gives a value, with a deadline: the store says when, not a sleep."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.05)
