"""`asl validate FILE... [--type T] [--json]`: every documented mode, as one table.

Exit 0 every file valid, 1 one invalid, 2 a file cannot be read (nothing else printed) or a
usage error. Text: one line per diagnostic and a verdict per file. `--json`: one object per
file and line, `"file"` first when there are several. The scratch files are docs/cli.md's.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.harness import INVALID_LINES, MACHINES, REPO, Cli

BROKEN = """{"StartAt": "Fetch", "States": {
  "Fetch": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
    "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}], "Next": "Missing"}}}
"""
HELLO_YAML = """StartAt: Hello
States:
  Hello:
    Type: Pass
    Result: {hello: world}
    End: true
"""
INVALID_YAML = """StartAt: A
States:
  A:
    Type: Pass
    Next: Nowhere
"""
WARNS = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Parameters": {"x": "$.looks.like.a.path"}, "End": True}},
}
SCRATCH: dict[str, object] = {
    "hello.asl.json": MACHINES["hello"],
    "hello.asl.yaml": HELLO_YAML,
    "invalid.asl.yaml": INVALID_YAML,
    "broken.asl.json": BROKEN,
    "trunc.json": '{"StartAt": "A", "States": {',
    "bad.yaml": "StartAt: [unclosed\n",
    "empty.json": "",
    "warns.asl.json": WARNS,
    "callback.asl.json": MACHINES["callback"],
}

BROKEN_DIAGNOSTICS = [
    {
        "code": "SCHEMA_VALIDATION_FAILED",
        "severity": "ERROR",
        "message": "The value of 'BackoffRate' must be at least 1, got 0.5",
        "location": "/States/Fetch/Retry/0/BackoffRate",
    },
    {
        "code": "MISSING_TRANSITION_TARGET",
        "severity": "ERROR",
        "message": "Missing 'Next' target: Missing; name a state of the same States object (a "
        "Parallel branch or Map processor cannot leave its own States)",
        "location": "/States/Fetch/Next",
    },
    {
        "code": "MISSING_END_STATE",
        "severity": "ERROR",
        "message": "Workflow has no terminal state: give at least one state End: true, or add "
        "a Succeed or Fail state",
        "location": "/States",
    },
]
NO_DOLLAR = (
    "The value of 'x' looks like a JSONPath or an intrinsic function call but is used as a "
    "literal; write the key as 'x.$' to evaluate it"
)
EXPRESS_TOKEN = "Express state machine does not support '.waitForTaskToken' service integration"
TRUNCATED = "Invalid JSON: Expecting property name enclosed in double quotes at line 1, column 29"

# (arguments, exit status, stdout lines, stderr)
TEXT_CASES = {
    "valid-json": (["hello.asl.json"], 0, ["hello.asl.json: valid (0 errors, 0 warnings)"], ""),
    "valid-yaml": (["hello.asl.yaml"], 0, ["hello.asl.yaml: valid (0 errors, 0 warnings)"], ""),
    "invalid-yaml": (
        ["invalid.asl.yaml"],
        1,
        [
            *(line.format(path="invalid.asl.yaml") for line in INVALID_LINES),
            "invalid.asl.yaml: INVALID (2 errors, 0 warnings)",
        ],
        "",
    ),
    "docs-broken": (
        ["broken.asl.json"],
        1,
        [
            *(
                f"broken.asl.json: {d['location']}: {d['code']}: {d['message']}"
                for d in BROKEN_DIAGNOSTICS
            ),
            "broken.asl.json: INVALID (3 errors, 0 warnings)",
        ],
        "",
    ),
    "docs-truncated-json": (
        ["trunc.json"],
        1,
        [
            f"trunc.json: /: INVALID_JSON_DESCRIPTION: {TRUNCATED}",
            "trunc.json: INVALID (1 errors, 0 warnings)",
        ],
        "",
    ),
    "neither-json-nor-yaml": (
        ["bad.yaml"],
        1,
        [
            "bad.yaml: /: INVALID_JSON_DESCRIPTION: Invalid YAML: expected ',' or ']', but got "
            "'<stream end>' (while parsing a flow sequence at line 1, column 10) at line 2, "
            "column 1",
            "bad.yaml: INVALID (1 errors, 0 warnings)",
        ],
        "",
    ),
    "empty-file": (
        ["empty.json"],
        1,
        [
            "empty.json: /: MISSING_DESCRIPTION: Received a null or empty workflow input",
            "empty.json: INVALID (1 errors, 0 warnings)",
        ],
        "",
    ),
    "warning-stays-valid": (
        ["warns.asl.json"],
        0,
        [
            f"warns.asl.json: /States/P/Parameters/x: warning: NO_DOLLAR: {NO_DOLLAR}",
            "warns.asl.json: valid (0 errors, 1 warnings)",
        ],
        "",
    ),
    "express-rejects-token": (
        ["callback.asl.json", "--type", "EXPRESS"],
        1,
        [
            "callback.asl.json: /States/Approve/Resource: SCHEMA_VALIDATION_FAILED: "
            + EXPRESS_TOKEN,
            "callback.asl.json: INVALID (1 errors, 0 warnings)",
        ],
        "",
    ),
    "standard-takes-token": (
        ["callback.asl.json", "--type", "STANDARD"],
        0,
        ["callback.asl.json: valid (0 errors, 0 warnings)"],
        "",
    ),
    "several-files-worst-wins": (
        ["hello.asl.json", "invalid.asl.yaml", "hello.asl.yaml"],
        1,
        [
            "hello.asl.json: valid (0 errors, 0 warnings)",
            *(line.format(path="invalid.asl.yaml") for line in INVALID_LINES),
            "invalid.asl.yaml: INVALID (2 errors, 0 warnings)",
            "hello.asl.yaml: valid (0 errors, 0 warnings)",
        ],
        "",
    ),
    # Every file is read before anything is printed: nothing about the readable ones.
    "unreadable-among-valid": (
        ["hello.asl.json", "missing.asl.json"],
        2,
        [],
        "asl: missing.asl.json: no such file\n",
    ),
    "unreadable-among-invalid-json": (
        ["invalid.asl.yaml", "missing.asl.json", "--json"],
        2,
        [],
        "asl: missing.asl.json: no such file\n",
    ),
    "a-folder": (["home"], 2, [], "asl: home: is a directory, expected a file\n"),
}

# (arguments, exit status, the objects printed one per line)
JSON_CASES = {
    "valid-yaml": (["hello.asl.yaml"], 0, [{"valid": True, "diagnostics": []}]),
    "docs-broken": (["broken.asl.json"], 1, [{"valid": False, "diagnostics": BROKEN_DIAGNOSTICS}]),
    "whole-document-location": (
        ["trunc.json"],
        1,
        [
            {
                "valid": False,
                "diagnostics": [
                    {
                        "code": "INVALID_JSON_DESCRIPTION",
                        "severity": "ERROR",
                        "message": TRUNCATED,
                        "location": "",
                    }
                ],
            }
        ],
    ),
    "warning-stays-valid": (
        ["warns.asl.json"],
        0,
        [
            {
                "valid": True,
                "diagnostics": [
                    {
                        "code": "NO_DOLLAR",
                        "severity": "WARNING",
                        "message": NO_DOLLAR,
                        "location": "/States/P/Parameters/x",
                    }
                ],
            }
        ],
    ),
    "express": (
        ["callback.asl.json", "--type", "EXPRESS"],
        1,
        [
            {
                "valid": False,
                "diagnostics": [
                    {
                        "code": "SCHEMA_VALIDATION_FAILED",
                        "severity": "ERROR",
                        "message": EXPRESS_TOKEN,
                        "location": "/States/Approve/Resource",
                    }
                ],
            }
        ],
    ),
    "docs-several-files": (
        ["broken.asl.json", "hello.asl.yaml"],
        1,
        [
            {"file": "broken.asl.json", "valid": False, "diagnostics": BROKEN_DIAGNOSTICS},
            {"file": "hello.asl.yaml", "valid": True, "diagnostics": []},
        ],
    ),
}


@pytest.fixture
def scratch(cli: Cli) -> Cli:
    for name, content in SCRATCH.items():
        cli.write(name, content)
    (cli.folder / "home").mkdir(exist_ok=True)
    return cli


@pytest.mark.parametrize(
    ("args", "code", "out", "err"), list(TEXT_CASES.values()), ids=list(TEXT_CASES)
)
def test_validate_text(scratch: Cli, args: list[str], code: int, out: list[str], err: str) -> None:
    done = scratch("validate", *args)
    assert (done.code, done.lines(), done.err) == (code, out, err)


@pytest.mark.parametrize(
    ("args", "code", "objects"), list(JSON_CASES.values()), ids=list(JSON_CASES)
)
def test_validate_json(
    scratch: Cli, args: list[str], code: int, objects: list[dict[str, object]]
) -> None:
    done = scratch("validate", *args, "--json")
    assert (done.code, done.err) == (code, "")
    printed = [json.loads(line) for line in done.lines()]
    assert printed == objects
    # key order is part of the shape scripts read
    assert [list(o) for o in printed] == [list(o) for o in objects]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--type", "BOGUS", "hello.asl.json"], "asl validate: error: argument --type: "),
        (["hello.asl.json", "--bogus"], "asl: error: unrecognized arguments: --bogus"),
    ],
    ids=["bad-type", "unknown-option"],
)
def test_validate_usage_errors_exit_2_with_argparse_usage(
    scratch: Cli, args: list[str], error: str
) -> None:
    done = scratch("validate", *args)
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith("usage: asl ")
    assert done.err.splitlines()[-1].startswith(error)


def test_validate_without_a_file_or_a_template_is_a_usage_error(scratch: Cli) -> None:
    """FILE is optional since `--template` can name the machine instead; neither is exit 2."""
    done = scratch("validate")
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith("usage: asl validate ")
    assert done.err.splitlines()[-1] == "asl: give a definition FILE, or --template FILE"


def test_validate_the_docs_express_example_verbatim(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    done = cli("validate", "asl_examples/callback_approval.asl.json", "--type", "EXPRESS")
    assert (done.code, done.err) == (1, "")
    assert done.lines() == [
        "asl_examples/callback_approval.asl.json: /States/RequestApproval/Resource: "
        f"SCHEMA_VALIDATION_FAILED: {EXPRESS_TOKEN}",
        "asl_examples/callback_approval.asl.json: INVALID (1 errors, 0 warnings)",
    ]


def test_validate_every_example_is_valid(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "asl_examples").glob("*.asl.json"))
    assert files
    done = cli("validate", *files)
    assert (done.code, done.err) == (0, "")
    verdicts = [line for line in done.lines() if ": /" not in line]  # warnings aside
    assert [v.split(": ", 1)[0] for v in verdicts] == files
    assert all(v.split(": ", 1)[1].startswith("valid (0 errors, ") for v in verdicts)
