"""Workflow variables: Assign in both query languages, when values take effect, scopes, limits,
and the history details AWS records.

Recorded AWS cases are named where they confirm a value (conformance corpus ids).
"""

from __future__ import annotations

import random

import pytest

from engine.definition.jsonata import compile_value, states_binding
from engine.definition.scope import Scope
from engine.definition.templates import compile_template
from engine.errors import STATES_DATA_LIMIT_EXCEEDED, StatesError
from engine.interpreter.variables import (
    EMPTY_VARIABLES,
    assigned_details,
    child_variables,
    evaluate_assign,
    merge_variables,
)
from engine.values import JSON
from tests.interpreter.helpers import echo, event_types, rendered, run_definition

# -- the functions ------------------------------------------------------------------------------


def test_evaluate_assign_jsonpath_reads_data_and_variables() -> None:
    program = compile_template({"a.$": "$.x", "b.$": "$old", "c": "$.literal", "d": [1]})
    scope = Scope(None, {"old": 7}, random.Random(0))
    assert evaluate_assign(program, {"x": 1}, None, scope) == {
        "a": 1,
        "b": 7,
        "c": "$.literal",
        "d": [1],
    }


def test_evaluate_assign_jsonata_reads_states() -> None:
    program = compile_value({"a": "{% $states.input.x %}", "b": "{% $old + 1 %}"}, "Assign")
    scope = Scope(None, {"old": 7}, random.Random(0))
    assert evaluate_assign(program, None, states_binding({"x": "y"}), scope) == {"a": "y", "b": 8}


SIZES = [
    ("single-too-large", {"big": "x" * (256 * 1024)}, "The variable 'big' has a size of"),
    (
        "combined-too-large",
        {"a": "x" * (130 * 1024), "b": "x" * (130 * 1024)},
        "The variables assigned by this state have a combined size of",
    ),
]


@pytest.mark.parametrize(("values", "cause"), [c[1:] for c in SIZES], ids=[c[0] for c in SIZES])
def test_size_limits(values: dict[str, JSON], cause: str) -> None:
    program = compile_template(values)
    with pytest.raises(StatesError) as caught:
        evaluate_assign(program, None, None, Scope())
    assert caught.value.error == STATES_DATA_LIMIT_EXCEEDED
    assert caught.value.cause.startswith(cause)


def test_a_variable_at_the_limit_is_accepted() -> None:
    # 256 KiB of serialised JSON: the string plus its two quotes.
    value = "x" * (256 * 1024 - 2)
    assert evaluate_assign(compile_template({"v": value}), None, None, Scope()) == {"v": value}


def _held(count: int, size: int) -> dict[str, JSON]:
    """`count` variables of `size` bytes of serialised JSON each (a string and its quotes)."""
    return {f"v{i}": "x" * (size - 2) for i in range(count)}


def test_all_stored_variables_are_limited_to_10_mib() -> None:
    # 40 variables of 256 KiB are exactly 10 MiB; one more byte anywhere is over
    held = _held(40, 256 * 1024)
    program = compile_template({"extra": 1})
    with pytest.raises(StatesError) as caught:
        evaluate_assign(program, None, None, Scope(None, held, random.Random(0)))
    assert caught.value.error == STATES_DATA_LIMIT_EXCEEDED
    assert caught.value.cause == (
        "The variables stored by this execution would have a combined size of 10485761 bytes, "
        "which exceeds the maximum of 10485760 bytes."
    )


def test_overwriting_a_variable_frees_its_old_size() -> None:
    held = _held(40, 256 * 1024)
    scope = Scope(None, held, random.Random(0))
    assert evaluate_assign(compile_template({"v0": 1}), None, None, scope) == {"v0": 1}


def test_variables_at_exactly_10_mib_are_accepted() -> None:
    held = _held(39, 256 * 1024)
    value = "x" * (256 * 1024 - 2)
    scope = Scope(None, held, random.Random(0))
    assert evaluate_assign(compile_template({"last": value}), None, None, scope) == {"last": value}


def test_merge_never_mutates() -> None:
    current: dict[str, JSON] = {"a": 1, "b": 2}
    merged = merge_variables(current, {"b": 3, "c": 4})
    assert merged == {"a": 1, "b": 3, "c": 4}
    assert current == {"a": 1, "b": 2}


def test_child_variables() -> None:
    parent: dict[str, JSON] = {"a": 1}
    assert child_variables(parent) is parent
    assert child_variables(parent, distributed=True) is EMPTY_VARIABLES


def test_assigned_details_are_json_text() -> None:
    assert assigned_details({"s": "x", "n": 0.1, "o": {"k": [1, None]}}) == {
        "assignedVariables": {"s": '"x"', "n": "0.1", "o": '{"k":[1,null]}'},
        "assignedVariablesDetails": {"truncated": False},
    }


# -- through step ---------------------------------------------------------------------------------


def output_of(definition: dict[str, JSON], execution_input: JSON = None) -> JSON:
    harness = run_definition(definition, execution_input, echo)
    assert harness.finish is not None
    assert harness.finish.status == "SUCCEEDED", harness.finish
    return harness.finish.output


FLOWS: list[tuple[str, dict[str, JSON], JSON, JSON]] = [
    (
        # Recorded: test_state_assign_evaluation_order.BASE_EVALUATION_ORDER_PASS_STATE.
        "outputpath-reads-the-old-value",
        {
            "StartAt": "S0",
            "States": {
                "S0": {
                    "Type": "Pass",
                    "Result": {"q": "?"},
                    "Assign": {"question.$": "$.q", "answer": 42},
                    "Next": "S1",
                },
                "S1": {
                    "Type": "Pass",
                    "InputPath": "$answer",
                    "ResultPath": "$.theAnswer",
                    "OutputPath": "$answer",
                    "Assign": {"answer": "<omitted>"},
                    "End": True,
                },
            },
        },
        {},
        42,
    ),
    (
        "jsonata-output-reads-the-old-value",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S0",
            "States": {
                "S0": {"Type": "Pass", "Assign": {"x": 1}, "Next": "S1"},
                "S1": {
                    "Type": "Pass",
                    "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"},
                    "Output": {"x": "{% $x %}"},
                    "Next": "S2",
                },
                "S2": {"Type": "Pass", "Output": ["{% $x %}", "{% $y %}"], "End": True},
            },
        },
        {},
        [2, 1],
    ),
    (
        # Recorded: test_assign_base/test_base_cases.BASE_SCOPE_MAP.
        "map-iterations-read-outer-and-do-not-leak",
        {
            "StartAt": "S0",
            "States": {
                "S0": {"Type": "Pass", "Assign": {"x": 42, "items": [1, 2, 3]}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$items",
                    "ItemProcessor": {
                        "StartAt": "In",
                        "States": {
                            "In": {
                                "Type": "Pass",
                                "Assign": {"x.$": "States.MathAdd($x, 1)", "inner": 1},
                                "Parameters": {"x.$": "$x"},
                                "End": True,
                            }
                        },
                    },
                    "Next": "After",
                },
                "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "in.$": "$"}, "End": True},
            },
        },
        {},
        {"x": 42, "in": [{"x": 42}, {"x": 42}, {"x": 42}]},
    ),
    (
        "parallel-branches-are-separate-scopes",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S0",
            "States": {
                "S0": {"Type": "Pass", "Assign": {"x": "outer"}, "Next": "P"},
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "A",
                            "States": {
                                "A": {"Type": "Pass", "Assign": {"x": "a"}, "Next": "A2"},
                                "A2": {"Type": "Pass", "Output": "{% $x %}", "End": True},
                            },
                        },
                        {
                            "StartAt": "B",
                            "States": {"B": {"Type": "Pass", "Output": "{% $x %}", "End": True}},
                        },
                    ],
                    "Output": {"branches": "{% $states.result %}", "x": "{% $x %}"},
                    "End": True,
                },
            },
        },
        {},
        {"branches": ["a", "outer"], "x": "outer"},
    ),
    (
        # Recorded: test_reference_in_map_state.MAP_STATE_REFERENCE_IN_INTRINSIC_FUNCTION.
        "item-selector-reads-outer-variables",
        {
            "StartAt": "S0",
            "States": {
                "S0": {
                    "Type": "Pass",
                    "Assign": {"tpl": "It's {}!"},
                    "Result": ["a", "b"],
                    "Next": "M",
                },
                "M": {
                    "Type": "Map",
                    "ItemSelector": {"v.$": "States.Format($tpl, $$.Map.Item.Value)"},
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                },
            },
        },
        {},
        [{"v": "It's a!"}, {"v": "It's b!"}],
    ),
    (
        # Recorded: test_reference_assign.BASE_REFERENCE_IN_CHOICE.
        "choice-reads-and-rule-assigns",
        {
            "StartAt": "Setup",
            "States": {
                "Setup": {"Type": "Pass", "Assign": {"guess": "g", "answer": "a"}, "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "Right"}
                    ],
                    "Default": "Wrong",
                },
                "Right": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": True},
                "Wrong": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Next": "C"},
            },
        },
        {},
        {"state": "CORRECT"},
    ),
    (
        "task-assign-reads-the-result",
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f", "Payload": {"v": 1}},
                    "ResultSelector": {"got.$": "$.Payload"},
                    "Assign": {"r.$": "$.got"},
                    "ResultPath": None,
                    "Next": "U",
                },
                "U": {"Type": "Pass", "Parameters": {"r.$": "$r"}, "End": True},
            },
        },
        {},
        {"r": {"v": 1}},
    ),
    (
        "catch-assign-reads-the-error",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "F",
                            "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}},
                        }
                    ],
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Assign": {"err": "{% $states.errorOutput.Error %}"},
                            "Next": "After",
                        }
                    ],
                    "End": True,
                },
                "After": {
                    "Type": "Pass",
                    "Output": {"err": "{% $err %}", "in": "{% $states.input %}"},
                    "End": True,
                },
            },
        },
        {},
        {"err": "E", "in": {"Error": "E", "Cause": "c"}},
    ),
]


@pytest.mark.parametrize(
    ("definition", "execution_input", "expected"),
    [c[1:] for c in FLOWS],
    ids=[c[0] for c in FLOWS],
)
def test_flows(definition: dict[str, JSON], execution_input: JSON, expected: JSON) -> None:
    assert output_of(definition, execution_input) == expected


def test_exited_event_lists_the_assigned_variables() -> None:
    harness = run_definition(
        {
            "StartAt": "S",
            "States": {"S": {"Type": "Pass", "Assign": {"a": "x", "b.$": "$.n"}, "End": True}},
        },
        {"n": 4},
    )
    exited = next(e for e in harness.history if e.type == "PassStateExited")
    assert rendered(exited) == {
        "name": "S",
        "output": '{"n":4}',
        "outputDetails": {"truncated": False},
        "assignedVariables": {"a": '"x"', "b": "4"},
        "assignedVariablesDetails": {"truncated": False},
    }


def test_empty_assign_records_nothing() -> None:
    # Recorded: test_assign_base/test_base_cases.BASE_EMPTY (no assignedVariables in the event).
    harness = run_definition(
        {"StartAt": "S", "States": {"S": {"Type": "Pass", "Assign": {}, "End": True}}}, {"a": 1}
    )
    exited = next(e for e in harness.history if e.type == "PassStateExited")
    assert "assignedVariables" not in rendered(exited)


def test_too_large_variable_fails_the_state() -> None:
    harness = run_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S",
            "States": {
                "S": {"Type": "Pass", "Assign": {"v": "{% $pad('', 300000, 'x') %}"}, "End": True}
            },
        }
    )
    assert harness.finish is not None
    assert harness.finish.error == STATES_DATA_LIMIT_EXCEEDED
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "ExecutionFailed",
    ]
