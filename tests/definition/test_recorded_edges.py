"""Definition-layer edge cases (intrinsics, paths) AWS recorded for inputs the shared conformance
cases leave out.

Each row cites the LocalStack test whose AWS-validated snapshot recorded the behaviour
(localstack/localstack tests/aws/services/stepfunctions/v2/).
"""

from __future__ import annotations

import json
import random

import pytest

from engine.definition.intrinsics import parse_intrinsic
from engine.definition.paths import compile_path
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, StatesError
from engine.values import JSON


def evaluate(text: str, data: JSON) -> JSON:
    return parse_intrinsic(text).evaluate(
        data, Scope(context={}, variables={}, rng=random.Random(1))
    )


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        # test_json_manipulation.py::test_string_to_json, executions 0 and 1: blank text is null.
        ("States.StringToJson($.s)", {"s": ""}, None),
        ("States.StringToJson($.s)", {"s": " "}, None),
        ("States.StringToJson($.s)", {"s": "\n\t "}, None),
        ("States.StringToJson($.s)", {"s": " 1 "}, 1),
    ],
    ids=["empty", "space", "json-whitespace", "padded-number"],
)
def test_recorded_results(text: str, data: JSON, expected: JSON) -> None:
    assert evaluate(text, data) == expected


# test_base_scenarios.py::test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONPATH]: in a quoted
# key only the closing quote is escaped; a backslash before any other character stays in the key.
@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        ('$[\'Test\\""Name"\']', {'Test\\""Name"': "v"}, "v"),
        ("$['it\\'s']", {"it's": 1}, 1),
        ('$["say \\"hi\\""]', {'say "hi"': 2}, 2),
        ("$['a\\b']", {"a\\b": 3}, 3),
    ],
    ids=[
        "backslash-before-double-quote",
        "escaped-single-quote",
        "escaped-double-quote",
        "backslash-letter",
    ],
)
def test_quoted_keys_keep_backslashes(text: str, data: JSON, expected: JSON) -> None:
    path = compile_path(text)
    assert path.find(data, Scope(context={}, variables={}, rng=random.Random(1))) == expected


# Not an AWS recording: an input number too large for a double (`1e400`) reads as infinity.
# Every numeric intrinsic rejects it as an invalid argument instead of raising out of `step`.
@pytest.mark.parametrize(
    "text",
    [
        "States.MathAdd($.n, 1)",
        "States.ArrayRange(0, $.n, 1)",
        "States.ArrayGetItem($.a, $.n)",
        "States.ArrayPartition($.a, $.n)",
        "States.MathRandom(0, $.n)",
    ],
)
def test_non_finite_numbers_are_invalid_arguments(text: str) -> None:
    data = json.loads('{"n": 1e400, "a": [1, 2]}')
    with pytest.raises(StatesError) as info:
        evaluate(text, data)
    assert info.value.error == STATES_RUNTIME
    assert "Invalid arguments in States." in info.value.cause
