"""`asl config check [FILE] [--json]`: which file it checks (FILE, else $ASL_CONFIG, else
./asl.toml, else [tool.asl] in ./pyproject.toml), its report, and exit 0 valid, 1 problems, 2 no
file. `--json` always has the same five keys.
"""

from __future__ import annotations

import pytest

from tests.cli.harness import Cli, assert_one_asl_line

HANDLERS = "def greet(event, context):\n    return 'hi'\n"
VALID = (
    '[functions.greet]\nhandler = "h.greet"\n'
    '[resources]\n"arn:aws:states:::sqs:sendMessage" = "greet"\n'
)
INVALID = '[functions.greet]\nhandler = "h.greet"\n[functions.F]\ntimeout = 0\n'
REPORT_KEYS = ["file", "valid", "problems", "functions", "resources"]

# (files to write, arguments, environment, the file reported)
FOUND = {
    "given": ({"conf/mine.toml": VALID}, ["conf/mine.toml"], {}, "conf/mine.toml"),
    "asl-config-variable": (
        {"conf/env.toml": VALID},
        [],
        {"ASL_CONFIG": "conf/env.toml"},
        "conf/env.toml",
    ),
    "asl-toml-here": ({"asl.toml": VALID}, [], {}, "asl.toml"),
    "given-wins": (
        {"asl.toml": INVALID, "b.toml": VALID},
        ["b.toml"],
        {"ASL_CONFIG": "asl.toml"},
        "b.toml",
    ),
    "variable-wins": (
        {"asl.toml": INVALID, "c.toml": VALID},
        [],
        {"ASL_CONFIG": "c.toml"},
        "c.toml",
    ),
}


@pytest.fixture
def handlers(cli: Cli) -> Cli:
    cli.write("h.py", HANDLERS)
    cli.write("conf/h.py", HANDLERS)
    return cli


@pytest.mark.parametrize(
    ("files", "args", "env", "reported"), list(FOUND.values()), ids=list(FOUND)
)
def test_config_check_finds_and_reports_a_valid_file(
    handlers: Cli,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    args: list[str],
    env: dict[str, str],
    reported: str,
) -> None:
    for name, content in files.items():
        handlers.write(name, content)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    text = handlers("config", "check", *args)
    assert (text.code, text.err) == (0, "")
    assert text.lines() == [f"{reported}: valid (1 functions, 1 resource mappings)"]
    as_json = handlers("config", "check", *args, "--json")
    assert (as_json.code, as_json.err) == (0, "")
    report = as_json.json()
    assert list(report) == REPORT_KEYS
    assert report == {
        "file": reported,
        "valid": True,
        "problems": [],
        "functions": ["greet"],
        "resources": {"arn:aws:states:::sqs:sendMessage": "greet"},
    }


def test_config_check_tool_asl_in_pyproject(handlers: Cli) -> None:
    handlers.write(
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.asl.functions.greet]\nhandler = "h.greet"\n',
    )
    done = handlers("config", "check")
    assert (done.code, done.lines()) == (
        0,
        ["pyproject.toml: valid (1 functions, 0 resource mappings)"],
    )


def test_config_check_problems_exit_1(handlers: Cli) -> None:
    handlers.write("asl.toml", INVALID)
    text = handlers("config", "check")
    assert (text.code, text.err) == (1, "")
    assert text.lines() == [
        "asl.toml: functions.F.timeout: Input should be greater than or equal to 1 (got 0)",
        "asl.toml: INVALID (1 problems)",
    ]
    as_json = handlers("config", "check", "--json")
    assert (as_json.code, as_json.err) == (1, "")
    report = as_json.json()
    assert list(report) == REPORT_KEYS
    assert report == {
        "file": "asl.toml",
        "valid": False,
        "problems": [
            {
                "location": "functions.F.timeout",
                "message": "Input should be greater than or equal to 1 (got 0)",
            }
        ],
        "functions": [],
        "resources": {},
    }


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (
            [],
            "asl: no config file: pass FILE, set ASL_CONFIG, or create asl.toml (see "
            "docs/backends.md)\n",
        ),
        (["nope.toml"], "asl: nope.toml: no such file\n"),
    ],
    ids=["none-anywhere", "missing-file"],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_config_check_without_a_file_exits_2(
    cli: Cli, args: list[str], err: str, as_json: bool
) -> None:
    done = cli("config", "check", *args, *(["--json"] if as_json else []))
    assert assert_one_asl_line(done) == err
