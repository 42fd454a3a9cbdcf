"""`asl describe ARN`, `asl history ARN` and `asl list`: text and `--json` on one store holding
a SUCCEEDED, a FAILED, a TIMED_OUT and a RUNNING execution; exit 2 with one line for an unknown
or malformed ARN, an unknown machine or a bad --limit.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.cli import main
from tests.cli.harness import (
    ACCOUNT,
    DESCRIBE_FAILED_KEYS,
    DESCRIBE_KEYS,
    DESCRIBE_SUCCEEDED_KEYS,
    EVENT_KEYS,
    ISO,
    LIST_ITEM_KEYS,
    MACHINES,
    VARIABLES,
    Cli,
    assert_one_asl_line,
    execution_arn,
)

OK = execution_arn("hello", "ok")
BAD = execution_arn("fails", "bad")
LATE = execution_arn("times_out", "late")
WAITING = execution_arn("callback", "waiting")
NEWEST_FIRST = [WAITING, LATE, BAD, OK]


@dataclass(frozen=True)
class Store:
    cli: Cli
    started: dict[str, str]  # ARN -> startDate


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Four executions started one after the other (so newest first is the reverse order),
    built once per module: each test reads a copy."""
    folder = tmp_path_factory.mktemp("queries")
    started = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("ASL_HOME", str(folder / "home"))
        patch.chdir(folder)
        for key in ("hello", "fails", "times_out", "callback"):
            (folder / f"{key}.asl.json").write_text(json.dumps(MACHINES[key]))
        for machine, name, more in (
            ("hello", "ok", ["--json"]),
            ("fails", "bad", ["--json"]),
            ("times_out", "late", ["--json", "--virtual-time"]),
            ("callback", "waiting", ["--detach"]),
        ):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                main(["start", f"{machine}.asl.json", "--name", name, *more])
            result = json.loads(printed.getvalue())
            started[result["executionArn"]] = result["startDate"]
    return folder / "home", started


@pytest.fixture
def store(cli: Cli, built: tuple[Path, dict[str, str]]) -> Store:
    home, started = built
    shutil.copytree(home, cli.folder / "home")
    return Store(cli, started)


# -- describe ----------------------------------------------------------------------------------

DESCRIBED_TEXT = {
    "succeeded": (OK, ["status     SUCCEEDED", 'output     {"hello": "world"}']),
    "failed": (BAD, ["status     FAILED", "error      Oops", "cause      on purpose"]),
    "timed-out": (
        LATE,
        [
            "status     TIMED_OUT",
            "error      States.Timeout",
            "cause      The execution timed out.",
        ],
    ),
    "running": (WAITING, ["status     RUNNING"]),
}


@pytest.mark.parametrize(("arn", "lines"), list(DESCRIBED_TEXT.values()), ids=list(DESCRIBED_TEXT))
def test_describe_text(store: Store, arn: str, lines: list[str]) -> None:
    done = store.cli("describe", arn)
    assert (done.code, done.err) == (0, "")
    assert done.lines() == [f"execution  {arn}", *lines]


DESCRIBED_JSON = {
    "succeeded": (
        OK,
        DESCRIBE_SUCCEEDED_KEYS,
        {"status": "SUCCEEDED", "output": '{"hello":"world"}'},
    ),
    "failed": (BAD, DESCRIBE_FAILED_KEYS, {"status": "FAILED", "error": "Oops"}),
    "timed-out": (
        LATE,
        DESCRIBE_FAILED_KEYS,
        {"status": "TIMED_OUT", "cause": "The execution timed out."},
    ),
    "running": (WAITING, DESCRIBE_KEYS, {"status": "RUNNING"}),
}


@pytest.mark.parametrize(
    ("arn", "keys", "fields"), list(DESCRIBED_JSON.values()), ids=list(DESCRIBED_JSON)
)
def test_describe_json_has_describe_executions_members(
    store: Store, arn: str, keys: frozenset[str], fields: dict[str, str]
) -> None:
    done = store.cli("describe", arn, "--json")
    assert (done.code, done.err) == (0, "")
    described = done.json()
    assert set(described) == keys
    assert {key: described[key] for key in fields} == fields
    machine = arn.split(":")[-2]
    assert described["stateMachineArn"] == f"{ACCOUNT}:stateMachine:{machine}"
    assert (described["executionArn"], described["name"]) == (arn, arn.split(":")[-1])
    assert described["startDate"] == store.started[arn]
    assert (described["input"], described["inputDetails"]) == ("{}", {"included": True})
    assert described["redriveCount"] == 0
    if "stopDate" in described:
        assert ISO.match(described["stopDate"])


NOT_FOUND = "asl: ExecutionDoesNotExist: Execution Does Not Exist: '{arn}'\n"
REFUSED_ARNS = {
    "docs-unknown": (
        "arn:aws:states:us-east-1:111111111111:execution:nope:x",
        NOT_FOUND.format(arn="arn:aws:states:us-east-1:111111111111:execution:nope:x"),
    ),
    "malformed": ("not-an-arn", "asl: InvalidArn: Invalid Arn: 'not-an-arn'\n"),
    "a-machine-arn": (
        f"{ACCOUNT}:stateMachine:hello",
        f"asl: InvalidArn: Invalid Arn: '{ACCOUNT}:stateMachine:hello'\n",
    ),
}


@pytest.mark.parametrize(("arn", "err"), list(REFUSED_ARNS.values()), ids=list(REFUSED_ARNS))
@pytest.mark.parametrize("command", ["describe", "history"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_describe_and_history_refuse_with_one_line(
    cli: Cli, command: str, arn: str, err: str, as_json: bool
) -> None:
    done = cli(command, arn, *(["--json"] if as_json else []))
    assert assert_one_asl_line(done) == err


# -- history -----------------------------------------------------------------------------------

FAILED_TYPES = ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize("reverse", [False, True], ids=["oldest-first", "reverse"])
def test_history_text_is_a_table(store: Store, reverse: bool) -> None:
    done = store.cli("history", BAD, *(["--reverse"] if reverse else []))
    assert (done.code, done.err) == (0, "")
    header, *rows = done.lines()
    assert header == "  id  prev  timestamp                 type"
    expected = [(1, 0, FAILED_TYPES[0]), (2, 0, FAILED_TYPES[1]), (3, 2, FAILED_TYPES[2])]
    if reverse:
        expected.reverse()
    assert len(rows) == len(expected)
    for row, (event_id, previous, kind) in zip(rows, expected, strict=True):
        assert row[:12] == f"{event_id:>4}  {previous:>4}  "
        assert ISO.match(row[12:36])
        assert row[36:] == f"  {kind}"


@pytest.mark.parametrize("reverse", [False, True], ids=["oldest-first", "reverse"])
def test_history_json_is_get_execution_history(store: Store, reverse: bool) -> None:
    done = store.cli("history", LATE, "--json", *(["--reverse"] if reverse else []))
    assert (done.code, done.err) == (0, "")
    history = done.json()
    assert list(history) == ["events"]
    events = history["events"]
    ids = [e["id"] for e in events]
    assert ids == ([3, 2, 1] if reverse else [1, 2, 3])
    for event in events:
        details = {k for k in event if k.endswith("EventDetails")}
        assert set(event) == EVENT_KEYS | details
        assert len(details) == 1
        assert ISO.match(event["timestamp"])
    by_id = {e["id"]: e for e in events}
    assert by_id[1]["executionStartedEventDetails"] == {
        "input": "{}",
        "inputDetails": {"truncated": False},
        "roleArn": "arn:aws:iam::111111111111:role/asl-engine",
    }
    assert by_id[3]["type"] == "ExecutionTimedOut"
    assert by_id[3]["executionTimedOutEventDetails"] == {
        "error": "States.Timeout",
        "cause": "The execution timed out.",
    }
    # the history starts at the startDate DescribeExecution gives
    assert by_id[1]["timestamp"] == store.started[LATE]


# -- list --------------------------------------------------------------------------------------


def test_list_text_newest_first(store: Store) -> None:
    done = store.cli("list")
    assert (done.code, done.err) == (0, "")
    status = {OK: "SUCCEEDED", BAD: "FAILED", LATE: "TIMED_OUT", WAITING: "RUNNING"}
    assert done.lines() == [
        f"{status[arn]:<10}  {store.started[arn]}  {arn}" for arn in NEWEST_FIRST
    ]


def test_list_json_has_list_executions_items(store: Store) -> None:
    done = store.cli("list", "--json")
    assert (done.code, done.err) == (0, "")
    listed = done.json()
    assert list(listed) == ["executions"]
    items = listed["executions"]
    assert [item["executionArn"] for item in items] == NEWEST_FIRST
    for item in items:
        closed = item["status"] != "RUNNING"
        assert set(item) == LIST_ITEM_KEYS | ({"stopDate"} if closed else set())
        assert item["startDate"] == store.started[item["executionArn"]]
        assert item["name"] == item["executionArn"].split(":")[-1]


LIST_FILTERS = {
    "machine-name": (["--machine", "hello"], [OK]),
    "machine-arn": (["--machine", f"{ACCOUNT}:stateMachine:fails"], [BAD]),
    "status": (["--status", "RUNNING"], [WAITING]),
    "status-none": (["--status", "ABORTED"], []),
    "limit": (["--limit", "2"], [WAITING, LATE]),
    "machine-and-status": (["--machine", "hello", "--status", "FAILED"], []),
}


@pytest.mark.parametrize(("args", "arns"), list(LIST_FILTERS.values()), ids=list(LIST_FILTERS))
def test_list_filters(store: Store, args: list[str], arns: list[str]) -> None:
    as_json = store.cli("list", *args, "--json")
    as_text = store.cli("list", *args)
    assert (as_json.code, as_json.err, as_text.code, as_text.err) == (0, "", 0, "")
    assert [item["executionArn"] for item in as_json.json()["executions"]] == arns
    assert [line.split()[-1] for line in as_text.lines()] == arns


def test_list_an_empty_store(cli: Cli) -> None:
    assert (cli("list").code, cli("list").out) == (0, "")
    assert cli("list", "--json").json() == {"executions": []}


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (["--machine", "nope"], "asl: no state machine named 'nope'\n"),
        (["--limit", "0"], "asl: --limit 0: give a number of executions, 1 or more\n"),
        (
            ["--store", "bogus://x"],
            "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n",
        ),
    ],
    ids=["unknown-machine", "limit-0", "store-url"],
)
def test_list_refused_with_one_line(cli: Cli, args: list[str], err: str) -> None:
    assert assert_one_asl_line(cli("list", *args, "--json")) == err


def test_the_store_comes_from_asl_store_then_store(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"sqlite:///{cli.folder / 'other.db'}"
    assert cli("start", cli.machine("hello"), "--name", "elsewhere", "--store", other).code == 0
    assert cli("list", "--json").json() == {"executions": []}  # ASL_HOME's store
    monkeypatch.setenv("ASL_STORE", other)
    names = [e["name"] for e in cli("list", "--json").json()["executions"]]
    assert names == ["elsewhere"]
    assert cli("list", "--store", cli.store, "--json").json() == {"executions": []}
