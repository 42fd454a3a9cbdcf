"""The docs harness's own rules: how a session is read, how output and JSON are compared."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docs.harness import Step, json_matches, output_matches, parse_shell


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("status     SUCCEEDED", "status     SUCCEEDED  \n", True),
        ("a\n…\nz", "a\nb\nc\nz", True),
        ("a\n…\nz", "a\nz", True),  # a `…` line may stand for no line at all
        ("a\n…\nz", "a\nb", False),
        ('output     {"id": …}', 'output     {"id": 7}', True),
        ('output     {"id": …}', 'output     {"id": 7}\nmore', False),
        ("id 0c394b64-…", "id d9863a37-c78c-4241-be3c-09311d2b1660", True),
        ("at 2026-11-24T20:14:11.214Z", "at 2027-01-02T03:04:05.006Z", True),
        ("2 passed in 9.31s", "2 passed in 12.07s", True),
        ("HTTP/1.1 201 Created", "HTTP/1.1 201 Created\r\n", True),
        ("exit 1", "exit 2", False),
    ],
    ids=[
        "trailing-space",
        "elided-lines",
        "elided-nothing",
        "elided-but-last-differs",
        "inline-elision",
        "extra-line",
        "short-uuid",
        "dates",
        "durations",
        "crlf",
        "differs",
    ],
)
def test_output_matches(expected: str, actual: str, matches: bool) -> None:
    assert output_matches(expected, actual) is matches


def test_wrapped_output_ignores_whitespace() -> None:
    assert output_matches('{"a": 1,\n  "b": […]}', '{"a":1,"b":[1,2]}', wrapped=True)


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1.0}, False),  # 1 and 1.0 print differently
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (["x", "… more …", "z"], ["x", "y1", "y2", "z"], True),
        (["x", "… more …", "z"], ["x", "z"], False),  # an elided item stands for one or more
        ({"s": "card … declined"}, {"s": "card 4242 was declined"}, True),
    ],
)
def test_json_matches(expected: Any, actual: Any, matches: bool) -> None:
    assert json_matches(expected, actual) is matches


def test_a_session_pairs_commands_with_their_output() -> None:
    block = parse_shell(
        "$ asl run a.json \\\n    --name demo\nstatus     SUCCEEDED\n\n$ echo $?\n0\n$ true\n"
    )
    assert block.steps == (
        Step("asl run a.json --name demo", "status     SUCCEEDED\n"),
        Step("echo $?", "0"),
        Step("true", ""),
    )


def test_a_plain_block_runs_every_command_line() -> None:
    block = parse_shell("# a comment\nexport X=1\n\nasl validate a.json \\\n    --json\n")
    assert block.steps == (Step("export X=1", None), Step("asl validate a.json --json", None))
