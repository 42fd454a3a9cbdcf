"""The `asl` command line: exit codes, output formats, machine names (docs/cli.md's contract).

In-process through `engine.cli.main([...])` with capsys; one real subprocess of the installed
`asl` entry point (marked slow).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.common import machine_name

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = REPO / "asl_examples" / "functions.py"

VALID = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
INVALID = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
WARNS = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Parameters": {"x": "$.looks.like.a.path"}, "End": True}},
}
FAILS = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"}}}
RUN_KEYS = ["executionArn", "name", "status", "output", "error", "cause", "startDate", "stopDate"]


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


# -- validate -----------------------------------------------------------------------------------


def test_validate_a_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "ok.asl.json", VALID)
    assert main(["validate", path]) == 0
    assert capsys.readouterr().out == f"{path}: valid (0 errors, 0 warnings)\n"


def test_validate_an_invalid_file_prints_located_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.asl.json", INVALID)
    assert main(["validate", path]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: /States/A/Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere; "
        "name a state of the same States object (a Parallel branch or Map processor cannot "
        "leave its own States)",
        f"{path}: /States: MISSING_END_STATE: Workflow has no terminal state: give at least one "
        "state End: true, or add a Succeed or Fail state",
        f"{path}: INVALID (2 errors, 0 warnings)",
    ]


def test_validate_warnings_keep_the_file_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "warn.asl.json", WARNS)
    assert main(["validate", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{path}: /States/P/Parameters/x: warning: ")
    assert lines[-1] == f"{path}: valid (0 errors, 1 warnings)"


def test_validate_json_for_one_file_is_one_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.asl.json", INVALID)
    assert main(["validate", "--json", path]) == 1
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    report = json.loads(out)
    assert list(report) == ["valid", "diagnostics"]
    assert report["valid"] is False
    assert [(d["code"], d["severity"], d["location"]) for d in report["diagnostics"]] == [
        ("MISSING_TRANSITION_TARGET", "ERROR", "/States/A/Next"),
        ("MISSING_END_STATE", "ERROR", "/States"),
    ]
    assert all(
        list(d) == ["code", "severity", "message", "location"] for d in report["diagnostics"]
    )


def test_validate_json_for_several_files_names_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = write(tmp_path, "a.asl.json", VALID), write(tmp_path, "b.asl.json", INVALID)
    assert main(["validate", "--json", good, bad]) == 1
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r["valid"]) for r in reports] == [(good, True), (bad, False)]


def test_validate_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "broken.asl.json", '{"StartAt": ')
    assert main(["validate", path]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}: /: INVALID_JSON_DESCRIPTION: Invalid JSON: Expecting value at line 1, column 13"
    )


def unreadable(tmp: Path, kind: str) -> str:
    if kind == "missing":
        return str(tmp / "missing.json")
    if kind == "directory":
        return str(tmp)
    path = tmp / "latin1.json"
    path.write_bytes(b"\xff\xfe{}")
    return str(path)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory, expected a file"),
        ("not-utf8", "not UTF-8 text (byte 0)"),
    ],
    ids=["missing", "directory", "not-utf8"],
)
def test_validate_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    path = unreadable(tmp_path, kind)
    assert main(["validate", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"asl: {path}: {message}\n"


def test_validate_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert "usage: asl validate" in capsys.readouterr().err


# -- run -----------------------------------------------------------------------------------------


def test_run_succeeded_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "order.asl.json", VALID)
    code = main(["run", path, "--input", '{"a": 1}', "--name", "r1", "--json", "--virtual-time"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == RUN_KEYS
    assert result["executionArn"] == "arn:aws:states:us-east-1:111111111111:execution:order:r1"
    assert (result["name"], result["status"], result["output"]) == ("r1", "SUCCEEDED", {"ok": True})
    assert (result["error"], result["cause"]) == (None, None)
    assert result["startDate"] == result["stopDate"]


def test_run_with_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "m.asl.json", VALID)
    assert main(["run", path, "--json", "--history", "--virtual-time"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*RUN_KEYS, "events"]
    assert [(e["id"], e["previousEventId"], e["type"]) for e in result["events"]] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "ExecutionSucceeded"),
    ]


def test_run_failed_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "f.asl.json", FAILS)
    assert main(["run", path, "--json", "--virtual-time"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["output"], result["error"], result["cause"]) == (
        "FAILED",
        None,
        "Oops",
        "on purpose",
    )


def test_run_summary_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "order.asl.json", VALID)
    assert main(["run", ok, "--name", "n", "--virtual-time"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "execution  arn:aws:states:us-east-1:111111111111:execution:order:n",
        "status     SUCCEEDED",
        'output     {"ok": true}',
    ]
    failing = write(tmp_path, "f.asl.json", FAILS)
    assert main(["run", failing, "--name", "n", "--virtual-time"]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "status     FAILED",
        "error      Oops",
        "cause      on purpose",
    ]


def test_run_input_file_and_functions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = {
        "StartAt": "Price",
        "States": {
            "Price": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:lookup_price",
                "End": True,
            }
        },
    }
    path = write(tmp_path, "price.asl.json", definition)
    data = write(tmp_path, "in.json", {"sku": "LAMP-OAK-01", "quantity": 2})
    code = main(
        [
            "run",
            path,
            "--input-file",
            data,
            "--functions",
            str(FUNCTIONS),
            "--json",
            "--virtual-time",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["output"] == {
        "sku": "LAMP-OAK-01",
        "unitPriceCents": 4999,
        "totalCents": 9998,
    }


def test_run_invalid_definition_exits_2_with_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.asl.json", INVALID)
    assert main(["run", path, "--json"]) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["valid"] is False
    assert [d["code"] for d in report["diagnostics"]] == [
        "MISSING_TRANSITION_TARGET",
        "MISSING_END_STATE",
    ]
    assert captured.err.splitlines()[0].startswith(
        f"{path}: /States/A/Next: MISSING_TRANSITION_TARGET: "
    )


def test_run_unparseable_definition_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "broken.asl.json", '{"StartAt": ')
    assert main(["run", path]) == 2
    assert "INVALID_JSON_DESCRIPTION" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--input", "{bad"],
            "asl: --input: the execution input is not valid JSON: Expecting "
            "property name enclosed in double quotes (line 1, column 2)",
        ),
        (["--input-file", "/nonexistent/in.json"], "asl: /nonexistent/in.json: no such file"),
    ],
    ids=["bad-input-json", "missing-input-file"],
)
def test_run_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = write(tmp_path, "m.asl.json", VALID)
    assert main(["run", path, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message + "\n"


def test_run_unreadable_definition_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none.asl.json")
    assert main(["run", missing]) == 2
    assert capsys.readouterr().err == f"asl: {missing}: no such file\n"


def test_run_bad_execution_name_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "m.asl.json", VALID)
    assert main(["run", path, "--name", "x" * 81]) == 2
    assert capsys.readouterr().err.startswith("asl: InvalidName: Invalid Name: ")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("order.asl.json", "order"),
        ("dir/order.asl.json", "order"),
        ("order.json", "order"),
        ("order", "order"),
        (".hidden.json", "machine"),
        ("my-flow.v2.yaml", "my-flow"),
    ],
    ids=["asl-json", "in-dir", "json", "no-suffix", "dot-file", "many-dots"],
)
def test_machine_name_from_file_name(path: str, name: str) -> None:
    assert machine_name(path) == name


@pytest.mark.slow
def test_installed_asl_entry_point(tmp_path: Path) -> None:
    asl = Path(sys.executable).parent / "asl"
    if not asl.exists():
        found = shutil.which("asl")
        if found is None:
            pytest.skip("the `asl` entry point is not installed in this environment")
        asl = Path(found)
    path = write(tmp_path, "order.asl.json", VALID)
    done = subprocess.run(
        [str(asl), "run", path, "--input", "{}", "--name", "sub", "--json", "--virtual-time"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    result = json.loads(done.stdout)
    assert result["executionArn"] == "arn:aws:states:us-east-1:111111111111:execution:order:sub"
    assert result["output"] == {"ok": True}
