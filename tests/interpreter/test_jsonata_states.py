"""JSONata states through `step`: every state type's fields, defaults, typed fields, failures and
the EvaluationFailed event AWS records before a state fails on an expression.

Recorded AWS cases are named where they confirm a value (conformance corpus ids).
"""

from __future__ import annotations

import pytest

from engine.errors import STATES_NO_CHOICE_MATCHED, STATES_QUERY_EVALUATION_ERROR
from engine.interpreter.messages import StartTimer
from engine.interpreter.tasks import TaskFailure
from engine.values import JSON
from tests.interpreter.helpers import T0, Harness, echo, event_types, rendered, run_definition


def jsonata(states: dict[str, JSON], start: str | None = None) -> dict[str, JSON]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def succeed(definition: dict[str, JSON], execution_input: JSON = None) -> JSON:
    harness = run_definition(definition, execution_input, echo)
    assert harness.finish is not None
    assert harness.finish.status == "SUCCEEDED", harness.finish
    return harness.finish.output


def in_state(name: str, entered: int, detail: str) -> str:
    return (
        f"An error occurred while executing the state '{name}' (entered at the event id "
        f"#{entered}). {detail}"
    )


OUTPUTS: list[tuple[str, dict[str, JSON], JSON, JSON]] = [
    ("pass-default-is-input", jsonata({"S": {"Type": "Pass", "End": True}}), {"a": 1}, {"a": 1}),
    (
        "pass-output-literal",  # Recorded: test_output/test_base_output_any_non_dict.FLOAT.
        jsonata({"S": {"Type": "Pass", "Output": 0.1, "End": True}}),
        {},
        0.1,
    ),
    (
        "pass-output-nested",
        jsonata(
            {
                "S": {
                    "Type": "Pass",
                    "Output": {"sum": "{% $sum($states.input.v) %}", "k": ["{% 'x' %}", 1]},
                    "End": True,
                }
            }
        ),
        {"v": [1, 2, 3]},
        {"sum": 6, "k": ["x", 1]},
    ),
    (
        "succeed-output",
        jsonata({"S": {"Type": "Succeed", "Output": "{% $states.input.a %}"}}),
        {"a": [1]},
        [1],
    ),
    (
        "task-default-output-is-result",
        jsonata(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.p %}"},
                    "End": True,
                }
            }
        ),
        {"p": 5},
        {"FunctionName": "f", "Payload": 5},
    ),
    (
        "task-output-sees-input-and-result",
        jsonata(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "f", "Payload": 1},
                    "Output": {"in": "{% $states.input %}", "out": "{% $states.result.Payload %}"},
                    "End": True,
                }
            }
        ),
        {"x": 1},
        {"in": {"x": 1}, "out": 1},
    ),
    (
        "task-without-arguments-sends-the-input",
        jsonata(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "End": True,
                }
            }
        ),
        {"x": 2},
        {"x": 2},
    ),
    (
        "parallel-arguments-and-result",
        jsonata(
            {
                "P": {
                    "Type": "Parallel",
                    "Arguments": {"n": "{% $states.input.n * 10 %}"},
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                        {
                            "StartAt": "B",
                            "States": {
                                "B": {
                                    "Type": "Pass",
                                    "Output": "{% $states.input.n + 1 %}",
                                    "End": True,
                                }
                            },
                        },
                    ],
                    "End": True,
                }
            }
        ),
        {"n": 2},
        [{"n": 20}, 21],
    ),
    (
        "map-items-and-item-selector",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input.xs %}",
                    "ItemSelector": {
                        "i": "{% $states.context.Map.Item.Index %}",
                        "v": "{% $states.context.Map.Item.Value %}",
                        "tag": "{% $states.input.tag %}",
                    },
                    "MaxConcurrency": "{% 1 %}",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "Output": {"r": "{% $states.result %}"},
                    "End": True,
                }
            }
        ),
        {"xs": ["a", "b"], "tag": "t"},
        {"r": [{"i": 0, "v": "a", "tag": "t"}, {"i": 1, "v": "b", "tag": "t"}]},
    ),
    (
        "map-literal-items",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "Items": [1, "{% 1 + 1 %}"],
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            }
        ),
        {},
        [1, 2],
    ),
    (
        # Recorded: test_map_state_items_input_array.mixed (no Items: the input is the array).
        "map-input-array",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            }
        ),
        [1, "two", True],
        [1, "two", True],
    ),
    (
        "choice-rule-output",  # Recorded: test_output/test_output_in_choice.CONDITION_TRUE.
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% $states.input.ok %}", "Next": "Done", "Output": "rule"}
                    ],
                    "Default": "Done",
                    "Output": "default",
                },
                "Done": {"Type": "Pass", "End": True},
            },
            "C",
        ),
        {"ok": True},
        "rule",
    ),
    (
        "choice-default-output",
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% $states.input.ok %}", "Next": "Done", "Output": "rule"}
                    ],
                    "Default": "Done",
                    "Output": "default",
                },
                "Done": {"Type": "Pass", "End": True},
            },
            "C",
        ),
        {"ok": False},
        "default",
    ),
    (
        "choice-constant-condition",  # Recorded: test_choice_condition_constant_jsonata.
        jsonata(
            {
                "C": {"Type": "Choice", "Choices": [{"Condition": True, "Next": "Done"}]},
                "Done": {"Type": "Pass", "End": True},
            },
            "C",
        ),
        {"a": 1},
        {"a": 1},
    ),
    (
        "mixed-jsonpath-then-jsonata",  # Recorded: test_mixed_query_language/test_variable_*.
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Assign": {"v": 42}, "Next": "J"},
                "J": {
                    "QueryLanguage": "JSONata",
                    "Type": "Pass",
                    "Output": "{% $v %}",
                    "End": True,
                },
            },
        },
        {},
        42,
    ),
]


@pytest.mark.parametrize(
    ("definition", "execution_input", "expected"),
    [c[1:] for c in OUTPUTS],
    ids=[c[0] for c in OUTPUTS],
)
def test_outputs(definition: dict[str, JSON], execution_input: JSON, expected: JSON) -> None:
    assert succeed(definition, execution_input) == expected


FAILURES: list[tuple[str, dict[str, JSON], JSON, str, str, list[str]]] = [
    (
        # Recorded: test_undefined_reference.BASE_UNDEFINED_OUTPUT.
        "undefined-output",
        jsonata({"State0": {"Type": "Pass", "Output": "{% $doesNotExist %}", "End": True}}),
        {},
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "State0",
            2,
            "The JSONata expression '$doesNotExist' specified for the field 'Output' returned "
            "nothing (undefined).",
        ),
        ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"],
    ),
    (
        # Recorded: test_undefined_reference.BASE_UNDEFINED_ASSIGN.
        "undefined-assign",
        jsonata(
            {"State0": {"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}, "End": True}}
        ),
        {},
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "State0",
            2,
            "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' "
            "returned nothing (undefined).",
        ),
        ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"],
    ),
    (
        # Recorded: test_map_state_items_eval_jsonata_fail.string.
        "map-items-not-an-array",
        jsonata(
            {
                "MapIterateState": {
                    "Type": "Map",
                    "Items": "{% 'string' %}",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            }
        ),
        {},
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "MapIterateState",
            2,
            "The JSONata expression ''string'' specified for the field 'Items' returned an "
            "unexpected result type. Expected 'array', but was 'string' for value: \"string\"",
        ),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed",
        ],
    ),
    (
        # Recorded: test_map_state_items_input_types.number.
        "map-input-not-an-array",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            }
        ),
        1,
        STATES_QUERY_EVALUATION_ERROR,
        in_state("M", 2, "Map state input must be an array but was: 1"),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed",
        ],
    ),
    (
        # Recorded: test_wait_timestamp_jsonata.NO_Z.
        "wait-bad-timestamp",
        jsonata({"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": True}}),
        {"t": "2016-12-05T21:29:29"},
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "W",
            2,
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
            "string: 2016-12-05T21:29:29",
        ),
        ["ExecutionStarted", "WaitStateEntered", "EvaluationFailed", "ExecutionFailed"],
    ),
    (
        "choice-condition-not-boolean",
        jsonata(
            {
                "C": {"Type": "Choice", "Choices": [{"Condition": "{% 1 %}", "Next": "D"}]},
                "D": {"Type": "Pass", "End": True},
            },
            "C",
        ),
        {},
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "C",
            2,
            "The JSONata expression '1' specified for the field 'Condition' returned an unexpected "
            "result type. Expected 'boolean', but was 'number' for value: 1",
        ),
        ["ExecutionStarted", "ChoiceStateEntered", "EvaluationFailed", "ExecutionFailed"],
    ),
    (
        "choice-no-match",
        jsonata(
            {
                "C": {"Type": "Choice", "Choices": [{"Condition": False, "Next": "D"}]},
                "D": {"Type": "Pass", "End": True},
            },
            "C",
        ),
        {},
        STATES_NO_CHOICE_MATCHED,
        "No Matches!",
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"],
    ),
    (
        "fail-error-and-cause-expressions",
        jsonata(
            {
                "F": {
                    "Type": "Fail",
                    "Error": "{% $states.input.e %}",
                    "Cause": "{% 'c-' & $states.input.e %}",
                }
            }
        ),
        {"e": "Boom"},
        "Boom",
        "c-Boom",
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"],
    ),
]


@pytest.mark.parametrize(
    ("definition", "execution_input", "error", "cause", "events"),
    [c[1:] for c in FAILURES],
    ids=[c[0] for c in FAILURES],
)
def test_failures(
    definition: dict[str, JSON],
    execution_input: JSON,
    error: str,
    cause: str,
    events: list[str],
) -> None:
    harness = run_definition(definition, execution_input, echo)
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.error, harness.finish.cause) == (
        "FAILED",
        error,
        cause,
    )
    assert event_types(harness.history) == events


def test_evaluation_failed_event_details() -> None:
    # Recorded (LocalStack AWS snapshot, BASE_UNDEFINED_OUTPUT_FIELD): previousEventId is the
    # Entered event's own previous id; the next event points at EvaluationFailed.
    harness = run_definition(
        jsonata(
            {
                "S0": {"Type": "Pass", "Next": "S1"},
                "S1": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True},
            }
        )
    )
    failed = next(e for e in harness.history if e.type == "EvaluationFailed")
    cause = in_state(
        "S1",
        4,
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned "
        "nothing (undefined).",
    )
    assert (failed.id, failed.previous_event_id) == (5, 3)
    assert rendered(failed) == {
        "error": STATES_QUERY_EVALUATION_ERROR,
        "cause": cause,
        "location": "Output/result",
        "state": "S1",
    }
    assert harness.history[-1].previous_event_id == 5


def test_catch_output_defaults_to_the_error_output() -> None:
    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After"}],
                "End": True,
            },
            "After": {"Type": "Pass", "End": True},
        }
    )
    harness = Harness.of(definition, {"in": 1})
    harness.run(lambda _request: TaskFailure("Oops", "bad"))
    assert harness.finish is not None
    assert harness.finish.output == {"Error": "Oops", "Cause": "bad"}


def test_wait_seconds_expression_starts_a_timer() -> None:
    harness = Harness.of(
        jsonata({"W": {"Type": "Wait", "Seconds": "{% $states.input.s * 2 %}", "End": True}}),
        {"s": 5},
    )
    harness.start()
    timer = harness.next_timer()
    assert isinstance(timer, StartTimer)
    assert timer.due == T0 + 10
    harness.run()
    assert harness.finish is not None
    assert harness.finish.output == {"s": 5}


def test_task_timeout_expression() -> None:
    harness = Harness.of(
        jsonata(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "f"},
                    "TimeoutSeconds": "{% $states.input.t %}",
                    "End": True,
                }
            }
        ),
        {"t": 7},
    )
    harness.start()
    assert harness.only_task().request.timeout_seconds == 7.0
