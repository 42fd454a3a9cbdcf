"""`asl test`: the contract of docs/cli.md ("asl test"): reports, exit codes, JUnit XML, coverage.

The examples' own test files (asl_examples/tests) run here at 100 % coverage; a failing case
exits 1 showing expected and actual at a JSON path; an invalid test file exits 2 naming the
file, the case and the field, and nothing runs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from engine.asltest.files import TEST_FILE_SCHEMA
from engine.definition.parse import parse_text
from tests.cli.harness import REPO, Cli, run_process

EXAMPLE_TESTS = REPO / "asl_examples" / "tests"

PICK: dict[str, object] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "a", "Next": "A"}],
            "Default": "B",
        },
        "A": {"Type": "Pass", "Result": {"picked": "a", "n": 1}, "End": True},
        "B": {"Type": "Fail", "Error": "NotA", "Cause": "only a is served"},
    },
}


def test_the_examples_pass_with_full_coverage(cli: Cli) -> None:
    outcome = cli(
        "test",
        str(EXAMPLE_TESTS),
        "--junit-xml",
        "report.xml",
        "--coverage-json",
        "coverage.json",
        "--fail-under",
        "100",
    )
    assert outcome.code == 0, outcome.out + outcome.err
    assert outcome.out.endswith("19 passed (19 cases in 4 files)\n")
    root = ET.parse(cli.folder / "report.xml").getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [Path(s.get("name", "")).name for s in suites] == [
        "choice_router.test.yaml",
        "error_handling.test.yaml",
        "mocked_order.test.yaml",
        "order_processing.test.yaml",
    ]
    assert [int(s.get("tests", "")) for s in suites] == [5, 5, 3, 6]
    assert [s.get("failures") for s in suites] == ["0"] * 4
    assert len(root.findall("testsuite/testcase")) == 19
    assert root.findall(".//failure") == []
    assert root.findall(".//error") == []
    coverage = json.loads((cli.folder / "coverage.json").read_text())
    assert {
        Path(m["machine"]).name: m["summary"]["state"]["percent"] for m in coverage["machines"]
    } == {
        "choice_router.asl.json": 100.0,
        "error_handling.asl.json": 100.0,
        "mocked_order.asl.json": 100.0,
        "order_processing.asl.json": 100.0,
    }
    assert coverage["total"] == {"covered": 54, "total": 54, "percent": 100.0}


def test_the_examples_test_files_follow_the_published_schema(cli: Cli) -> None:
    outcome = cli("test", "--schema")
    assert outcome.code == 0
    schema = json.loads(outcome.out)
    assert schema == TEST_FILE_SCHEMA
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(EXAMPLE_TESTS.glob("*.test.yaml")):
        jsonschema.validate(parse_text(path.read_text()), schema)


def write_suite(cli: Cli, cases: list[dict[str, object]]) -> str:
    cli.write("pick.asl.json", PICK)
    return cli.write("pick.test.json", {"machine": "pick.asl.json", "cases": cases})


def test_a_failing_case_exits_1_with_expected_and_actual_at_a_json_path(cli: Cli) -> None:
    suite = write_suite(
        cli,
        [
            {"name": "a", "input": {"kind": "a"}, "expect": {"output": {"picked": "a", "n": 1}}},
            {
                "name": "wrong",
                "input": {"kind": "a"},
                "expect": {
                    "output": {"picked": "b", "n": 1, "extra": True},
                    "path": ["Route", "B"],
                    "states": {"Route": {"outputContains": {"kind": "z"}}},
                },
            },
            {"name": "fails", "input": {"kind": "b"}, "expect": {"outputContains": {}}},
        ],
    )
    outcome = cli("test", suite, "--junit-xml", "out.xml")
    assert outcome.code == 1
    assert outcome.out == (
        "pick.test.json (pick)\n"
        "  PASS  a\n"
        "  FAIL  wrong\n"
        '         output $.picked: expected "b", got "a"\n'
        "         output $.extra: expected true, but it is missing\n"
        "         path: expected [Route, B], got [Route, A] (first difference at 1: expected B, "
        "got A)\n"
        '         states.Route.outputContains $.kind: expected "z", got "a"\n'
        "  FAIL  fails\n"
        '         status: expected SUCCEEDED, got FAILED (NotA: "only a is served")\n'
        "         outputContains $: expected {}, got null\n"
        "\n"
        "1 passed, 2 failed (3 cases in 1 file)\n"
    )
    suite_xml = ET.parse(cli.folder / "out.xml").getroot().find("testsuite")
    assert suite_xml is not None
    assert (suite_xml.get("tests"), suite_xml.get("failures")) == ("3", "2")
    wrong = suite_xml.findall("testcase")[1]
    failure = wrong.find("failure")
    assert failure is not None
    assert failure.get("message") == 'output $.picked: expected "b", got "a"'
    assert failure.text is not None
    assert failure.text.count("\n") == 3


def test_json_report(cli: Cli) -> None:
    suite = write_suite(
        cli,
        [
            {
                "name": "b",
                "input": {"kind": "b"},
                "expect": {"error": "NotA", "path": ["Route", "B"]},
            }
        ],
    )
    outcome = cli("test", suite, "--json", "--coverage")
    assert outcome.code == 0
    report = outcome.json()
    assert report["summary"] == {"cases": 1, "passed": 1, "failed": 0, "error": 0}
    [case] = report["cases"]
    assert (case["name"], case["outcome"], case["status"], case["mismatches"]) == (
        "b",
        "passed",
        "FAILED",
        [],
    )
    assert case["execution"]["error"] == "NotA"
    [machine] = report["coverage"]["machines"]
    assert machine["summary"]["total"] == {"covered": 3, "total": 5, "percent": 60.0}


def test_coverage_table_annotation_and_fail_under(cli: Cli) -> None:
    suite = write_suite(cli, [{"name": "a", "input": {"kind": "a"}}])
    outcome = cli(
        "test", suite, "--coverage", "--coverage-annotate", "pick.cov.txt", "--fail-under", "90"
    )
    assert outcome.code == 1
    assert outcome.err == ("asl test: coverage 60.0% (3 of 5 elements) is below --fail-under 90%\n")
    assert outcome.out.split("\n\n", 2)[2] == (
        "Coverage       States  Choice rules  Retriers  Catchers  Branches       Total\n"
        "pick.asl.json     2/3           1/2         -         -         -  3/5  60.0%\n"
        "\n"
        "Not covered in pick.asl.json:\n"
        "  choice rule  /States/Route/Default  (Route: Default -> B)\n"
        "  state        /States/B  (Fail B)\n"
    )
    assert (cli.folder / "pick.cov.txt").read_text() == (
        "# pick.asl.json: 3 of 5 elements covered (60.0%); !! marks what no case exercised\n"
        "       | {\n"
        '       |   "StartAt": "Route",\n'
        '       |   "States": {\n'
        '    1x |     "Route": {\n'
        '       |       "Type": "Choice",\n'
        '       |       "Choices": [\n'
        "    1x |         {\n"
        '       |           "Variable": "$.kind",\n'
        '       |           "StringEquals": "a",\n'
        '       |           "Next": "A"\n'
        "       |         }\n"
        "       |       ],\n"
        '    !! |       "Default": "B"  <- not covered: choice rule\n'
        "       |     },\n"
        '    1x |     "A": {\n'
        '       |       "Type": "Pass",\n'
        '       |       "Result": {\n'
        '       |         "picked": "a",\n'
        '       |         "n": 1\n'
        "       |       },\n"
        '       |       "End": true\n'
        "       |     },\n"
        '    !! |     "B": {  <- not covered: state\n'
        '       |       "Type": "Fail",\n'
        '       |       "Error": "NotA",\n'
        '       |       "Cause": "only a is served"\n'
        "       |     }\n"
        "       |   }\n"
        "       | }\n"
    )


@pytest.mark.parametrize(
    ("test_file", "problems"),
    [
        (
            {"machine": "pick.asl.json", "cases": [{"name": "x", "expect": {"stauts": "FAILED"}}]},
            [
                'pick.test.json: cases[0] "x": expect: Additional properties are not allowed '
                "('stauts' was unexpected)"
            ],
        ),
        (
            {"machine": "pick.asl.json", "cases": [{"name": "x", "expect": {"status": "DONE"}}]},
            [
                "pick.test.json: cases[0] \"x\": expect.status: 'DONE' is not one of "
                "['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']"
            ],
        ),
        (
            {"machine": "pick.asl.json", "cases": [{"name": "x", "input": {}, "inputFile": "i"}]},
            ['pick.test.json: cases[0] "x": give either input or inputFile, not both'],
        ),
        (
            {"machine": "missing.asl.json", "cases": [{"name": "x"}]},
            ["pick.test.json: machine: missing.asl.json: cannot be read: no such file"],
        ),
        (
            {"cases": []},
            [
                "pick.test.json: (the file): 'machine' is a required property",
                "pick.test.json: cases: [] should be non-empty",
            ],
        ),
        (
            {
                "machine": "pick.asl.json",
                "cases": [
                    {
                        "name": "x",
                        "testCase": "Happy",
                        "mocks": {"A": {"0": {"Return": 1}}, "Nope": {"0": {"Throw": {}}}},
                        "expect": {"path": ["Route", "C"], "states": {"A": {"calls": 1}}},
                    },
                    {"name": "x"},
                ],
            },
            [
                'pick.test.json: cases[0] "x": testCase: a test case needs a mock config: '
                "add mockConfig: FILE",
                "pick.test.json: cases[0] \"x\": mocks.A: 'A' is a Pass state; only Tasks are "
                "mocked",
                "pick.test.json: cases[0] \"x\": mocks.Nope: no state named 'Nope' in the machine",
                "pick.test.json: cases[0] \"x\": mocks.Nope.0.Throw: missing 'Error': add a "
                "string, the error name Retry and Catch match",
                "pick.test.json: cases[0] \"x\": mocks.Nope.0.Throw: missing 'Cause': add a "
                "string, its cause",
                "pick.test.json: cases[0] \"x\": expect.path[1]: no state named 'C' in the machine",
                "pick.test.json: cases[0] \"x\": expect.states.A.calls: 'A' is a Pass state, not "
                "a Task",
                "pick.test.json: cases[1] \"x\": name: another case is named 'x'",
            ],
        ),
    ],
    ids=["unknown-field", "bad-status", "input-twice", "no-machine", "no-machine-no-cases", "refs"],
)
def test_an_invalid_test_file_exits_2_naming_file_case_and_field(
    cli: Cli, test_file: dict[str, object], problems: list[str]
) -> None:
    cli.write("pick.asl.json", PICK)
    cli.write("pick.test.json", test_file)
    outcome = cli("test", "pick.test.json")
    assert outcome.code == 2
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert lines[:-1] == problems
    assert lines[-1].startswith(f"asl test: {len(problems)} problem")


def test_unreadable_yaml_and_missing_paths_exit_2(cli: Cli) -> None:
    assert cli("test").err == (
        "asl: no test files in the current folder (looked for names ending in .test.yaml, "
        ".test.yml, .test.json)\n"
    )
    assert cli("test", "nowhere").err == "asl: nowhere: no such file or folder\n"
    cli.write("bad/bad.test.yaml", "machine: [unclosed\n")
    outcome = cli("test", "bad")
    assert outcome.code == 2
    assert outcome.err.startswith("bad/bad.test.yaml: not YAML or JSON: Invalid YAML: ")


def test_a_case_that_never_finishes_is_cut_at_the_time_limit(cli: Cli) -> None:
    cli.write(
        "wait.asl.json",
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        },
    )
    cli.write(
        "wait.test.json",
        {"machine": "wait.asl.json", "cases": [{"name": "stuck"}], "functions": "f.py"},
    )
    cli.write("f.py", "def f(event, context):\n    return {}\n")
    outcome = cli("test", "wait.test.json", "--time-limit", "0.5")
    assert outcome.code == 1
    assert outcome.out == (
        "wait.test.json (wait)\n"
        "  ERROR stuck\n"
        "         the execution did not finish within 0.5 s of real time (a Task waiting for a "
        "callback nobody sends, or a handler that does not return?)\n"
        "\n"
        "0 passed, 1 could not run (1 case in 1 file)\n"
    )


@pytest.mark.slow
def test_the_installed_command_exits_as_documented(tmp_path: Path) -> None:
    (tmp_path / "pick.asl.json").write_text(json.dumps(PICK))
    (tmp_path / "pick.test.json").write_text(
        json.dumps({"machine": "pick.asl.json", "cases": [{"name": "b", "input": {"kind": "b"}}]})
    )
    outcome = run_process("asl", ["test"], cwd=tmp_path)
    assert outcome.code == 1
    assert "status: expected SUCCEEDED, got FAILED" in outcome.out
    assert run_process("asl", ["test", "--fail-under", "101"], cwd=tmp_path).code == 2


def test_junit_xml_parses_whatever_characters_a_case_name_holds(cli: Cli) -> None:
    suite = write_suite(cli, [{"name": "bell \u0007 <&>", "input": {"kind": "b"}}])
    outcome = cli("test", suite, "--junit-xml", "out.xml")
    assert outcome.code == 1
    case = ET.parse(cli.folder / "out.xml").getroot().find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "bell \ufffd <&>"


def test_a_value_that_is_not_unicode_is_a_located_problem(cli: Cli) -> None:
    suite = write_suite(cli, [{"name": "ok"}, {"name": "bad \ud800"}])
    outcome = cli("test", suite)
    assert outcome.code == 2
    assert outcome.err.splitlines()[0] == (
        'pick.test.json: cases[1] "bad \\ud800": a string holds a lone UTF-16 surrogate '
        "(U+D800 to U+DFFF), which is not Unicode"
    )


LOOP: dict[str, object] = {
    "StartAt": "Loop",
    "States": {
        "Loop": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 3, "Next": "Bump"}],
            "Default": "Done",
        },
        "Bump": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
            "Next": "Loop",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_visit_picks_which_entry_of_a_state_is_checked(cli: Cli) -> None:
    cli.write("loop.asl.json", LOOP)
    cli.write(
        "loop.test.json",
        {
            "machine": "loop.asl.json",
            "cases": [
                {
                    "name": "loops",
                    "input": {"n": 1},
                    "expect": {
                        "output": {"n": 3},
                        "path": ["Loop", "Bump", "Loop", "Bump", "Loop", "Done"],
                        "states": {
                            "Bump": {"visit": 1, "input": {"n": 2}, "output": {"n": 3}},
                            "Loop": {"visit": 5, "inputContains": {}},
                        },
                    },
                }
            ],
        },
    )
    outcome = cli("test", "loop.test.json")
    assert outcome.code == 1
    assert outcome.out.splitlines()[1:3] == [
        "  FAIL  loops",
        "         states.Loop: the state was entered 3 times; there is no visit 5 to check",
    ]
