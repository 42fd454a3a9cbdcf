"""Mock config files: reading, every located problem, and the invocation-range keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backends.mocks import (
    INVALID_MOCK_CONFIG,
    MockProblem,
    check_mock_config,
    load_mock_config,
    parse_mock_config,
    parse_response_key,
)
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from engine.values import JSON

FIXTURES = Path(__file__).parent / "fixtures" / "mocks"
AWS_EXAMPLE = FIXTURES / "MockConfigFile.json"
RETURN_0: JSON = {"0": {"Return": {"ok": True}}}


def config(machines: JSON = None, responses: JSON = None) -> dict[str, JSON]:
    return {
        "StateMachines": machines if machines is not None else {},
        "MockedResponses": responses if responses is not None else {},
    }


def problems(value: JSON) -> list[str]:
    return [str(p) for p in check_mock_config(value)]


def test_the_aws_documentation_example_is_valid_and_loads() -> None:
    assert check_mock_config(AWS_EXAMPLE.read_text()) == []
    loaded = load_mock_config(str(AWS_EXAMPLE))
    assert loaded.origin == str(AWS_EXAMPLE)
    assert loaded.test_case_names("LambdaSQSIntegration") == [
        "HappyPath",
        "RetryPath",
        "HybridPath",
    ]
    assert loaded.response_name("LambdaSQSIntegration", "HybridPath", "LambdaState") == (
        "MockedLambdaSuccess"
    )
    assert loaded.response_name("LambdaSQSIntegration", "HybridPath", "SQSState") is None
    retry = "MockedLambdaRetry"
    not_ready = TaskFailure("Lambda.ResourceNotReadyException", "Lambda resource is not ready.")
    timed_out = TaskFailure("Lambda.TimeoutException", "Lambda timed out.")
    success = TaskSuccess(
        {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}},
        final=True,
    )
    assert [loaded.response(retry, n) for n in range(5)] == [
        not_ready,
        timed_out,
        timed_out,
        success,
        None,
    ]
    assert loaded.last_invocation(retry) == 3


def test_the_aws_sample_project_config_is_valid() -> None:
    assert check_mock_config((FIXTURES / "LocalTesting.mock.json").read_text()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            [],
            [
                "/: a mock config is a JSON object with StateMachines and MockedResponses, "
                "not an array"
            ],
            id="not-an-object",
        ),
        pytest.param(
            {"StateMachines": {}},
            ["/: missing 'MockedResponses': add an object of mocked responses"],
            id="missing-responses",
        ),
        pytest.param(
            {**config(), "MockedResponse": {}},
            [
                "/MockedResponse: unknown field; a mock config has only StateMachines and "
                "MockedResponses"
            ],
            id="unknown-top-level",
        ),
        pytest.param(
            config({"M": {"TestCase": {}}}),
            [
                "/StateMachines/M/TestCase: unknown field; a state machine entry has only "
                "TestCases",
                "/StateMachines/M: missing 'TestCases': add an object of test cases",
            ],
            id="test-cases-misspelt",
        ),
        pytest.param(
            config({"M": {"TestCases": {"T": {"A": "Nope", "B": 3}}}}, {"Yes": RETURN_0}),
            [
                "/StateMachines/M/TestCases/T/A: mocked response 'Nope' is not defined in "
                "MockedResponses; define it or use one that is ('Yes')",
                "/StateMachines/M/TestCases/T/B: must be the name of a mocked response "
                "(a string), not a number",
            ],
            id="unknown-response",
        ),
        pytest.param(
            config(responses={"R": {"0": {"Return": 1}, "a": {"Return": 2}, "3-1": {"Return": 3}}}),
            [
                "/MockedResponses/R/a: 'a' is not an invocation number or range: write a number "
                "counted from 0 ('0', '3') or an inclusive range with the smaller number first "
                "('1-2')",
                "/MockedResponses/R/3-1: '3-1' is not an invocation number or range: write a "
                "number counted from 0 ('0', '3') or an inclusive range with the smaller number "
                "first ('1-2')",
            ],
            id="bad-keys",
        ),
        pytest.param(
            config(responses={"R": {"0": {"Return": 1}, "2-3": {"Return": 2}}}),
            [
                "/MockedResponses/R/2-3: invocation 1 has no response: number the responses "
                "consecutively from 0 (add '1' or renumber '2-3')"
            ],
            id="gap",
        ),
        pytest.param(
            config(responses={"R": {"1": {"Return": 1}}}),
            [
                "/MockedResponses/R/1: invocation 0 has no response: number the responses "
                "consecutively from 0 (add '0' or renumber '1')"
            ],
            id="not-from-zero",
        ),
        pytest.param(
            config(responses={"R": {"0-2": {"Return": 1}, "1": {"Return": 2}}}),
            [
                "/MockedResponses/R/1: overlaps an earlier key: invocation 1 already has a "
                "response; give each invocation exactly one response"
            ],
            id="overlap",
        ),
        pytest.param(
            config(responses={"R": {"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "c"}}}}),
            [
                "/MockedResponses/R/0: has both Return and Throw; keep one (a result, or an "
                "error to throw)"
            ],
            id="both",
        ),
        pytest.param(
            config(responses={"R": {"0": {"Retrun": 1}}}),
            [
                "/MockedResponses/R/0/Retrun: unknown field; a response has exactly one of "
                "Return and Throw",
                "/MockedResponses/R/0: needs Return (the task's result) or Throw (an object "
                "with Error and Cause)",
            ],
            id="neither",
        ),
        pytest.param(
            config(responses={"R": {"0": {"Throw": {"Cause": 7, "Code": "x"}}}}),
            [
                "/MockedResponses/R/0/Throw/Code: unknown field; Throw has only Error and Cause",
                "/MockedResponses/R/0/Throw: missing 'Error': add a string, the error name "
                "Retry and Catch match",
                "/MockedResponses/R/0/Throw/Cause: must be a string, its cause, not a number",
            ],
            id="throw-without-error",
        ),
        pytest.param(
            config(responses={"R": {}, "S/~": []}),
            [
                "/MockedResponses/R: must be an object of responses keyed by invocation number, "
                'e.g. {"0": {"Return": ...}}',
                "/MockedResponses/S~1~0: must be an object of responses keyed by invocation "
                'number, e.g. {"0": {"Return": ...}}, not an array',
            ],
            id="empty-and-escaped",
        ),
    ],
)
def test_every_problem_is_reported_with_its_location(value: JSON, expected: list[str]) -> None:
    assert problems(value) == expected


def test_unreadable_json_is_one_located_problem() -> None:
    assert check_mock_config('{"StateMachines": ') == [
        MockProblem("", "not valid JSON: Expecting value (line 1, column 19)")
    ]


def test_parse_raises_invalid_request_naming_the_origin_and_every_problem() -> None:
    bad = config(
        {"M": {"TestCases": {"T": {"A": "Missing"}}}},
        {"MockedLambdaRetry": {"0": {"Return": 1}, "1-2": {"Throw": {"Cause": "c"}}}},
    )
    with pytest.raises(InvalidRequest) as caught:
        parse_mock_config(bad, origin="MockConfigFile.json")
    assert caught.value.code == INVALID_MOCK_CONFIG
    assert caught.value.message == (
        "MockConfigFile.json: the mock config is invalid (2 problems):\n"
        "  /StateMachines/M/TestCases/T/A: mocked response 'Missing' is not defined in "
        "MockedResponses; define it or use one that is ('MockedLambdaRetry')\n"
        "  /MockedResponses/MockedLambdaRetry/1-2/Throw: missing 'Error': add a string, the "
        "error name Retry and Catch match"
    )


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        load_mock_config(str(tmp_path / "nope.json"))
    assert caught.value.message == f"{tmp_path / 'nope.json'}: no such mock config file"


def test_load_names_the_file_with_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "mocks.json"
    path.write_text(json.dumps({"StateMachines": {}}))
    with pytest.raises(InvalidRequest) as caught:
        load_mock_config(str(path))
    assert caught.value.message == (
        f"{path}: the mock config is invalid (1 problem):\n"
        "  /: missing 'MockedResponses': add an object of mocked responses"
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("0", (0, 0)),
        ("12", (12, 12)),
        ("1-2", (1, 2)),
        ("3-3", (3, 3)),
        ("1-0", None),
        ("01", None),
        ("-1", None),
        ("1-", None),
        (" 1", None),
        ("1-2-3", None),
        ("a", None),
        ("", None),
    ],
)
def test_response_keys(key: str, expected: tuple[int, int] | None) -> None:
    assert parse_response_key(key) == expected


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_a_range_key_round_trips(first: int, last: int) -> None:
    key = str(first) if first == last else f"{first}-{last}"
    assert parse_response_key(key) == ((first, last) if first <= last else None)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=8))
def test_consecutive_ranges_are_valid_and_answer_each_invocation(widths: list[int]) -> None:
    responses: dict[str, JSON] = {}
    start = 0
    for index, width in enumerate(widths):
        last = start + width - 1
        key = str(start) if width == 1 else f"{start}-{last}"
        responses[key] = {"Return": index}
        start = last + 1
    loaded = parse_mock_config(config(responses={"R": responses}))
    answers = [loaded.response("R", n) for n in range(start + 1)]
    expected = [TaskSuccess(i, final=True) for i, w in enumerate(widths) for _ in range(w)]
    assert answers == [*expected, None]


@given(st.text(max_size=12))
def test_checking_never_raises(text: str) -> None:
    assert isinstance(check_mock_config(text), list)
