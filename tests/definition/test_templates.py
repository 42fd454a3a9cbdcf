"""Payload templates: `.$` fields, constants shared at zero cost, AWS's path-failure cause."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.scope import Scope
from engine.definition.templates import compile_template, parameter_path_cause
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON

SCOPE = Scope(
    context={"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Value": {"v": 1}, "Index": 0}}},
    variables={"total": 42, "cfg": {"region": "us-east-1"}},
)
INPUT: JSON = {
    "flagged": 7,
    "vals": [0, 10, 20, 30, 40, 50],
    "user": {"name": "ana"},
    "people": [{"name": "al", "age": 20}, {"name": "bo", "age": 30}],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # The ASL spec's Parameters example.
        (
            {"flagged": True, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"}},
            {"flagged": True, "parts": {"first": 0, "last3": [30, 40, 50]}},
        ),
        ({"all.$": "$"}, {"all": INPUT}),
        ({"name.$": "$.user.name", "k": "$.not.a.path"}, {"name": "ana", "k": "$.not.a.path"}),
        ({"id.$": "$$.Execution.Id"}, {"id": "arn:exec"}),
        ({"item.$": "$$.Map.Item.Value"}, {"item": {"v": 1}}),
        ({"t.$": "$total", "r.$": "$cfg.region"}, {"t": 42, "r": "us-east-1"}),
        (
            {"list": [1, {"n.$": "$.user.name"}, [{"f.$": "$.flagged"}], "$.x"]},
            {"list": [1, {"n": "ana"}, [{"f": 7}], "$.x"]},
        ),
        ({"who.$": "$.people[?(@.age > 25)].name"}, {"who": ["bo"]}),
        ({"a": {"b": {"c.$": "$.flagged"}}, "z": None}, {"a": {"b": {"c": 7}}, "z": None}),
    ],
    ids=[
        "spec-example",
        "root",
        "constant-string-looks-like-path",
        "context",
        "context-map-item",
        "variables",
        "arrays",
        "filter",
        "nested",
    ],
)
def test_evaluate(template: JSON, expected: JSON) -> None:
    before = copy.deepcopy(INPUT)
    compiled = compile_template(template)
    assert not compiled.constant
    assert compiled.evaluate(INPUT, SCOPE) == expected
    assert before == INPUT


@pytest.mark.parametrize(
    "path",
    ["$[*]", "$.items[*]", "$.items[:1]", "$.item.items[:1]", "$.items[*].itemValue"],
)
def test_indefinite_path_matching_nothing_gives_empty_list(path: str) -> None:
    # Recorded AWS: localstack/base/test_base/test_json_path_array_wildcard_or_slice_with_no_input
    assert compile_template({"item.$": path}).evaluate({}, SCOPE) == {"item": []}


def test_constant_template_is_precomputed_and_shared() -> None:
    source: JSON = {"a": [1, {"b": "c"}], "d": None}
    compiled = compile_template(source)
    assert compiled.constant
    first = compiled.evaluate(INPUT, SCOPE)
    assert first == source
    assert compiled.evaluate({"other": 1}, SCOPE) is first
    # Compiled once from a copy: later edits of the definition do not leak into outputs.
    assert isinstance(source, dict)
    source["d"] = "changed"
    assert compiled.evaluate(INPUT, SCOPE) == {"a": [1, {"b": "c"}], "d": None}


def test_constant_subtrees_of_a_dynamic_template_are_shared() -> None:
    compiled = compile_template({"fixed": {"x": [1, 2]}, "v.$": "$.flagged"})
    first = compiled.evaluate(INPUT, SCOPE)
    second = compiled.evaluate(INPUT, SCOPE)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first is not second
    assert first["fixed"] is second["fixed"]


@pytest.mark.parametrize("value", ["text", 3, None, [1, 2]], ids=["str", "int", "null", "list"])
def test_non_object_constant_templates(value: JSON) -> None:
    assert compile_template(value).evaluate(INPUT, SCOPE) == value


@pytest.mark.parametrize(
    ("template", "data", "cause"),
    [
        # Recorded AWS (test_invalid_jsonpath.INVALID_JSONPATH_IN_STRING_EXPR_JSONPATH), less the
        # interpreter's state prefix; AWS renders the input as compact JSON.
        (
            {"value.$": "$.no_such_jsonpath"},
            {"int-literal": 0},
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be "
            "found in the input '{\"int-literal\":0}'",
        ),
        (
            {"outer": {"JobName.$": "$.JobName"}},
            {},
            "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in "
            "the input '{}'",
        ),
        (
            {"x.$": "$.a.b"},
            {"a": {"é": [1, 2.5]}},
            "The JSONPath '$.a.b' specified for the field 'x.$' could not be found in the input "
            '\'{"a":{"é":[1,2.5]}}\'',
        ),
        # AWS accepts Jayway functions in definitions but fails every execution like this
        # (cause quoted on re:Post, "AWS StepFunctions: sum() function returns error ...").
        (
            {"Jobs.$": "$.Jobs.sum()"},
            {"Jobs": [0, 0, 1]},
            "The JSONPath '$.Jobs.sum()' specified for the field 'Jobs.$' could not be found in "
            "the input '{\"Jobs\":[0,0,1]}'",
        ),
    ],
    ids=["recorded", "nested-field", "non-ascii", "jayway-function"],
)
def test_path_matching_nothing_is_states_runtime(template: JSON, data: JSON, cause: str) -> None:
    compiled = compile_template(template)
    with pytest.raises(StatesError) as caught:
        compiled.evaluate(data, SCOPE)
    assert (caught.value.error, caught.value.cause) == (STATES_RUNTIME, cause)


def test_missing_variable_is_a_path_failure() -> None:
    with pytest.raises(StatesError) as caught:
        compile_template({"x.$": "$nope"}).evaluate({"a": 1}, SCOPE)
    assert caught.value.cause == parameter_path_cause("$nope", "x.$", {"a": 1})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"a.$": 5}, "The value for the field 'a.$' (at /a.$) must be a string"),
        ({"o": {"a.$": {"x": 1}}}, "The value for the field 'a.$' (at /o/a.$) must be a string"),
        ({"l": [{"a.$": None}]}, "The value for the field 'a.$' (at /l/0/a.$) must be a string"),
        ({"a.$": "$.x["}, "The value for the field 'a.$' (at /a.$) is not a valid path"),
        ({"a.$": "x.y"}, "The value for the field 'a.$' (at /a.$) must be a JSONPath"),
    ],
    ids=["int", "nested-object", "in-array", "bad-path", "not-a-path"],
)
def test_compile_errors_name_the_key(template: JSON, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=re.escape(message)):
        compile_template(template)


def test_intrinsic_field() -> None:
    compiled = compile_template({"greeting.$": "States.Format('Hello, {}', $.user.name)"})
    assert compiled.evaluate(INPUT, SCOPE) == {"greeting": "Hello, ana"}


KEYS = st.text(alphabet="abc.$ ", min_size=1, max_size=4).filter(lambda key: key[-2:] != ".$")
CONSTANTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab$.", max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=15,
)


@given(CONSTANTS)
def test_templates_without_dollar_keys_are_constant(value: JSON) -> None:
    compiled = compile_template(value)
    assert compiled.constant
    assert compiled.evaluate(INPUT, SCOPE) == value


PATHISH = st.text(alphabet="$.[]*?@()'\"ab01:- =<>,", max_size=12).map(lambda text: "$" + text)
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(alphabet="ab", max_size=2),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0"]), children, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["x.$", "y.$", "z"]), PATHISH, max_size=3), DOCUMENTS)
def test_only_template_errors_escape(template: dict[str, JSON], document: JSON) -> None:
    try:
        compiled = compile_template(template)
    except ExpressionSyntaxError:
        return
    errors: list[str] = []
    try:
        compiled.evaluate(document, SCOPE)
    except StatesError as error:
        errors.append(error.error)
    assert errors in ([], [STATES_RUNTIME])
