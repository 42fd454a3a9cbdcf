"""JSONPath data flow: InputPath, Parameters, ResultSelector, ResultPath, OutputPath."""

from __future__ import annotations

import copy

import pytest

from engine.definition.paths import compile_path, compile_reference_path
from engine.definition.scope import Scope
from engine.definition.templates import compile_template
from engine.errors import STATES_RESULT_PATH_MATCH_FAILURE, STATES_RUNTIME, StatesError
from engine.interpreter.dataflow import (
    apply_input_path,
    apply_output_path,
    apply_parameters,
    apply_result_path,
    apply_result_selector,
)
from engine.values import JSON

SCOPE = Scope(context={"Execution": {"Id": "arn:exec"}}, variables={"v": 1})
DOC_INPUT: dict[str, JSON] = {
    "comment": "This is a test",
    "details": "Default example",
    "who": "Step Functions",
}
RESULT = "Hello, Step Functions!"


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        (None, {"a": 1}, {}),
        ("$", {"a": 1}, {"a": 1}),
        ("$.a", {"a": {"b": 2}}, {"b": 2}),
        ("$.a[1]", {"a": [1, 2]}, 2),
        ("$.a[*].b", {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}, [1, 3]),
        ("$$.Execution.Id", {}, "arn:exec"),
        ("$v", {}, 1),
    ],
    ids=["null", "root", "field", "index", "wildcard", "context", "variable"],
)
def test_input_and_output_path_select(path: str | None, data: JSON, expected: JSON) -> None:
    compiled = None if path is None else compile_path(path)
    assert apply_input_path(compiled, data, SCOPE) == expected
    assert apply_output_path(compiled, data, SCOPE) == expected


@pytest.mark.parametrize(
    ("path", "data", "cause"),
    [
        # Recorded AWS (test_invalid_jsonpath.ST.INVALID_JSONPATH_IN_INPUTPATH / _OUTPUTPATH).
        (
            "$.NoSuchInputPath",
            {"int-literal": 0},
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
        ),
        # Recorded AWS (test_catch_states_runtime): OutputPath over a Lambda result of {}.
        (
            "$.no.such.result.path",
            {},
            "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
        ),
        ("$.a[3]", {"a": [1]}, "Invalid path '$.a[3]' : No results for path: $['a'][3]"),
    ],
    ids=["missing-leaf", "missing-intermediate", "index-out-of-range"],
)
def test_input_and_output_path_failures(path: str, data: JSON, cause: str) -> None:
    for apply in (apply_input_path, apply_output_path):
        with pytest.raises(StatesError) as caught:
            apply(compile_path(path), data, SCOPE)
        assert (caught.value.error, caught.value.cause) == (STATES_RUNTIME, cause)


def test_parameters_and_result_selector() -> None:
    template = compile_template({"greeting.$": "$.who", "fixed": 1})
    assert apply_parameters(None, DOC_INPUT, SCOPE) is DOC_INPUT
    assert apply_parameters(template, DOC_INPUT, SCOPE) == {
        "greeting": "Step Functions",
        "fixed": 1,
    }
    assert apply_result_selector(None, RESULT, SCOPE) == RESULT
    selector = compile_template({"body.$": "$.Payload.body"})
    assert apply_result_selector(selector, {"Payload": {"body": "x"}}, SCOPE) == {"body": "x"}


def test_result_selector_path_failure_is_states_runtime() -> None:
    selector = compile_template({"body.$": "$.Payload.body"})
    with pytest.raises(StatesError) as caught:
        apply_result_selector(selector, {"Payload": {}}, SCOPE)
    assert caught.value.error == STATES_RUNTIME
    assert caught.value.cause == (
        "The JSONPath '$.Payload.body' specified for the field 'body.$' could not be found in "
        "the input '{\"Payload\":{}}'"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # The AWS developer guide's ResultPath examples (input-output-resultpath).
        ("$", RESULT),
        (None, DOC_INPUT),
        ("$.taskresult", {**DOC_INPUT, "taskresult": RESULT}),
        ("$.strings.lambdaresult", {**DOC_INPUT, "strings": {"lambdaresult": RESULT}}),
        ("$.who", {**DOC_INPUT, "who": RESULT}),
    ],
    ids=["default", "null", "new-field", "new-nested", "replace-field"],
)
def test_result_path(path: str | None, expected: JSON) -> None:
    before = copy.deepcopy(DOC_INPUT)
    compiled = None if path is None else compile_reference_path(path)
    assert apply_result_path(compiled, DOC_INPUT, RESULT) == expected
    assert before == DOC_INPUT


@pytest.mark.parametrize(
    ("state_input", "path"),
    [("a string", "$.x"), ({"who": "x"}, "$.who.name"), ({"l": [1]}, "$.l[2]")],
    ids=["input-not-object", "through-string", "index-out-of-range"],
)
def test_result_path_failure(state_input: JSON, path: str) -> None:
    with pytest.raises(StatesError) as caught:
        apply_result_path(compile_reference_path(path), state_input, RESULT)
    assert caught.value.error == STATES_RESULT_PATH_MATCH_FAILURE


def test_full_pipeline_in_aws_order() -> None:
    state_input: JSON = {"order": {"id": 7, "qty": 2}, "meta": "m"}
    effective = apply_input_path(compile_path("$.order"), state_input, SCOPE)
    params = apply_parameters(compile_template({"orderId.$": "$.id"}), effective, SCOPE)
    assert params == {"orderId": 7}
    raw_result: JSON = {"Payload": {"status": "OK", "noise": 1}}
    result = apply_result_selector(compile_template({"s.$": "$.Payload.status"}), raw_result, SCOPE)
    combined = apply_result_path(compile_reference_path("$.result"), state_input, result)
    assert combined == {"order": {"id": 7, "qty": 2}, "meta": "m", "result": {"s": "OK"}}
    output = apply_output_path(compile_path("$.result"), combined, SCOPE)
    assert output == {"s": "OK"}
