"""Property tests for intrinsic functions: round trips, invariants, and failure containment."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.intrinsic_functions import INTRINSIC_ARITY, json_equal
from engine.definition.intrinsics import parse_intrinsic
from engine.definition.scope import Scope
from engine.errors import ExpressionSyntaxError, StatesError
from engine.values import JSON

SCOPE = Scope(
    context={"Execution": {"Id": "arn", "Input": {"a": 1}}, "StateMachine": {"Name": "a-b"}},
    variables={"var": [1, "x", None], "obj": {"k": "v"}},
    rng=random.Random(0),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values: st.SearchStrategy[JSON] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)


def run(text: str, data: JSON) -> JSON:
    return parse_intrinsic(text).evaluate(data, SCOPE)


# ---------------------------------------------------------------------------------------------
# (1) Invariants of the functions
# ---------------------------------------------------------------------------------------------


@given(json_values)
def test_json_to_string_then_string_to_json_round_trips(value: JSON) -> None:
    result = run("States.StringToJson(States.JsonToString($.v))", {"v": value})
    assert json_equal(result, value)


@given(st.lists(json_values, max_size=20))
def test_array_length_is_len(array: list[JSON]) -> None:
    assert run("States.ArrayLength($)", array) == len(array)


@given(st.lists(st.sampled_from([None, True, 1, 1.0, "1", [], [1], {"a": 1}]), max_size=30))
def test_array_unique_keeps_first_occurrences_in_order(array: list[JSON]) -> None:
    result = run("States.ArrayUnique($)", array)
    assert isinstance(result, list)
    expected: list[JSON] = []
    for item in array:
        if not any(json_equal(item, kept) for kept in expected):
            expected.append(item)
    assert len(result) == len(expected)
    assert all(a is b for a, b in zip(result, expected, strict=True))


@given(st.lists(json_values, max_size=20), st.integers(min_value=1, max_value=25))
def test_array_partition_concatenates_back(array: list[JSON], size: int) -> None:
    chunks = run("States.ArrayPartition($.a, $.n)", {"a": array, "n": size})
    assert isinstance(chunks, list)
    assert [item for chunk in chunks for item in chunk] == array  # type: ignore[union-attr]
    assert all(len(chunk) == size for chunk in chunks[:-1])  # type: ignore[arg-type]
    assert all(0 < len(chunk) <= size for chunk in chunks)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_base64_decode_inverts_encode(text: str) -> None:
    assert run("States.Base64Decode(States.Base64Encode($))", text) == text


@given(st.integers(-500, 500), st.integers(-500, 500), st.integers(-40, 40).filter(bool))
def test_array_range_matches_python_range(start: int, end: int, step: int) -> None:
    result = run("States.ArrayRange($[0], $[1], $[2])", [start, end, step])
    assert result == list(range(start, end + (1 if step > 0 else -1), step))


# ---------------------------------------------------------------------------------------------
# (2) Any text: parse_intrinsic raises only ExpressionSyntaxError
# ---------------------------------------------------------------------------------------------

SEEDS = [
    "States.Format('a{}b\\'c', $.x, $$.Execution.Id, $var.f[0])",
    "States.ArrayGetItem(States.StringSplit($.s, ','), States.MathAdd(1, -1))",
    "States.Array(1.5e3, -2, true, false, null, $['a b'], $.c[?(@.d > 1)], $..e)",
    "States.JsonMerge(States.StringToJson('{\"a\": 1}'), $, false)",
]
SIGNIFICANT = "States.()',$[]{}\\\"@?*-. 0123456789abcdefnrtuxyzAFJMSU"


@st.composite
def mutated_calls(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw(st.sampled_from(SIGNIFICANT))
        if action == "insert":
            text = text[:at] + char + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    return text


@settings(max_examples=500)
@given(st.one_of(mutated_calls(), st.text(max_size=40).map(lambda s: "States." + s), st.text()))
def test_parse_raises_only_syntax_errors(text: str) -> None:
    error: ExpressionSyntaxError | None = None
    try:
        call = parse_intrinsic(text)
    except ExpressionSyntaxError as exc:
        error = exc
    if error is not None:
        assert error.position is None or 0 <= error.position <= len(text)
    else:
        assert call.name in INTRINSIC_ARITY


# ---------------------------------------------------------------------------------------------
# (3) Any well-formed call on any data: evaluate raises only StatesError
# ---------------------------------------------------------------------------------------------

literal_texts = st.one_of(
    st.sampled_from(
        [
            "true",
            "false",
            "null",
            "0",
            "-1",
            "2.5",
            "1e3",
            "1000",
            "'MD5'",
            "'SHA-256'",
            "''",
            "','",
            "'{}'",
            "'a{}b'",
            "'{'",
            "'[1, {\"k\": 2}]'",
            "'SGVsbG8='",
            "'x\\'y'",
            "'\\{\\}'",
        ]
    ),
    st.integers(-1100, 1100).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
)
path_texts = st.sampled_from(
    [
        "$",
        "$.a",
        "$.b",
        "$.c",
        "$.a[0]",
        "$.b.k",
        "$.nope",
        "$$.Execution.Id",
        "$$.Execution.Input",
        "$var",
        "$var[1]",
        "$obj.k",
        "$nope",
        "$.a[*]",
        "$..k",
    ]
)


@st.composite
def call_texts(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from(sorted(INTRINSIC_ARITY)))
    low, high = INTRINSIC_ARITY[name]
    count = draw(st.integers(low, high if high is not None else low + 3))
    options = [literal_texts, path_texts]
    if depth < 3:
        options.append(call_texts(depth + 1))
    args = [draw(st.one_of(*options)) for _ in range(count)]
    return f"{name}({', '.join(args)})"


data_values = st.fixed_dictionaries(
    {"a": json_values, "b": json_values, "c": st.lists(st.integers(-5, 5), max_size=5)}
)


@settings(max_examples=500)
@given(call_texts(), data_values)
def test_evaluate_raises_only_states_errors(text: str, data: JSON) -> None:
    call = parse_intrinsic(text)
    error: StatesError | None = None
    try:
        result = call.evaluate(data, SCOPE)
    except StatesError as exc:
        error = exc
    if error is not None:
        assert error.error == "States.Runtime"
        assert error.cause.startswith(f"The function '{text}' had the following error: ")
    else:
        json.dumps(result, allow_nan=False)
