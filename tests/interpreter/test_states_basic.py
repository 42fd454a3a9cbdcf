"""Pass, Choice, Wait, Fail and Succeed through `step`, and the JSONPath data flow of each step.

Every case runs a whole execution through the hand-driven harness and asserts the exact output
or the exact error and cause. Recorded AWS cases are named where they confirm a value.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine.errors import (
    STATES_NO_CHOICE_MATCHED,
    STATES_RESULT_PATH_MATCH_FAILURE,
    STATES_RUNTIME,
)
from engine.interpreter.frames import new_execution
from engine.interpreter.messages import Finish
from engine.values import JSON, dumps
from tests.interpreter.helpers import (
    EXECUTION_ARN,
    MACHINE_ARN,
    T0,
    T0_ISO,
    Harness,
    chain,
    compile_definition,
    event_types,
    make_info,
    rendered,
    run_definition,
)

DOC_INPUT: dict[str, JSON] = {"comment": "hi", "details": {"a": 1, "list": [1, 2, 3]}, "n": 5}


def in_state(name: str, detail: str, entered: int = 2) -> str:
    return (
        f"An error occurred while executing the state '{name}' "
        f"(entered at the event id #{entered}). {detail}"
    )


# -- Pass data flow --------------------------------------------------------------------------

PASS_CASES: list[tuple[str, dict[str, JSON], JSON, JSON]] = [
    ("defaults", {}, DOC_INPUT, DOC_INPUT),
    # Recorded: base/test_base/test_state_pass_result.
    ("result", {"Result": {"Arg1": "argument1"}}, {}, {"Arg1": "argument1"}),
    ("result-null", {"Result": None}, {"a": 1}, None),
    ("input-path", {"InputPath": "$.details"}, DOC_INPUT, {"a": 1, "list": [1, 2, 3]}),
    ("input-path-null", {"InputPath": None}, DOC_INPUT, {}),
    (
        "parameters",
        {"Parameters": {"c.$": "$.comment", "fixed": [1, {"x": None}], "nested": {"a.$": "$.n"}}},
        DOC_INPUT,
        {"c": "hi", "fixed": [1, {"x": None}], "nested": {"a": 5}},
    ),
    (
        "parameters-after-input-path",
        {"InputPath": "$.details", "Parameters": {"first.$": "$.list[0]", "all.$": "$.list[*]"}},
        DOC_INPUT,
        {"first": 1, "all": [1, 2, 3]},
    ),
    (
        "intrinsics",
        {
            "Parameters": {
                "msg.$": (
                    "States.Format('{} has {} items', $.comment, "
                    "States.ArrayLength($.details.list))"
                ),
                "sum.$": "States.MathAdd($.n, 10)",
                "arr.$": "States.Array($.n, 'x')",
                "json.$": "States.JsonToString($.details)",
            }
        },
        DOC_INPUT,
        {
            "msg": "hi has 3 items",
            "sum": 15,
            "arr": [5, "x"],
            "json": '{"a":1,"list":[1,2,3]}',
        },
    ),
    ("result-path-null", {"Result": 9, "ResultPath": None}, {"a": 1}, {"a": 1}),
    ("result-path-root", {"Result": 9, "ResultPath": "$"}, {"a": 1}, 9),
    ("result-path-field", {"Result": 9, "ResultPath": "$.r"}, {"a": 1}, {"a": 1, "r": 9}),
    (
        "result-path-nested-created",
        {"Result": 9, "ResultPath": "$.x.y.z"},
        {"a": 1},
        {"a": 1, "x": {"y": {"z": 9}}},
    ),
    (
        "result-path-overwrites",
        {"Result": {"new": True}, "ResultPath": "$.a"},
        {"a": {"old": True}, "b": 2},
        {"a": {"new": True}, "b": 2},
    ),
    (
        "result-path-is-applied-to-raw-input",
        {"InputPath": "$.details", "Parameters": {"k.$": "$.a"}, "ResultPath": "$.out"},
        DOC_INPUT,
        {**DOC_INPUT, "out": {"k": 1}},
    ),
    ("output-path", {"OutputPath": "$.details.list[1]"}, DOC_INPUT, 2),
    # Recorded: base/test_base/test_state_pass_result_null_input_output_paths.
    ("output-path-null", {"OutputPath": None, "Result": 3}, DOC_INPUT, {}),
    (
        "all-steps",
        {
            "InputPath": "$.details",
            "Parameters": {"first.$": "$.list[0]"},
            "ResultPath": "$.res",
            "OutputPath": "$.res",
        },
        DOC_INPUT,
        {"first": 1},
    ),
]


@pytest.mark.parametrize(
    ("fields", "execution_input", "expected"),
    [case[1:] for case in PASS_CASES],
    ids=[case[0] for case in PASS_CASES],
)
def test_pass_data_flow(fields: dict[str, JSON], execution_input: JSON, expected: JSON) -> None:
    harness = run_definition(chain(("P", {"Type": "Pass", **fields})), execution_input)
    assert harness.finish == Finish("SUCCEEDED", output=expected)
    assert rendered(harness.history[1])["input"] == rendered(harness.history[0])["input"]


@pytest.mark.parametrize(
    ("fields", "execution_input", "error", "detail"),
    [
        # Recorded: scenarios/test_base_scenarios/test_invalid_jsonpath (InputPath).
        (
            {"InputPath": "$.NoSuchInputPath"},
            {"int-literal": 0},
            STATES_RUNTIME,
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
        ),
        (
            {"OutputPath": "$.no.such"},
            {},
            STATES_RUNTIME,
            "Invalid path '$.no.such' : Missing property in path $['no']",
        ),
        # A Pass state's Parameters path failure is States.Runtime (test_invalid_jsonpath).
        (
            {"Parameters": {"a.$": "$.nope"}},
            {"x": 2},
            STATES_RUNTIME,
            "The JSONPath '$.nope' specified for the field 'a.$' could not be found in the "
            "input '{\"x\":2}'",
        ),
        (
            {"Result": 1, "ResultPath": "$.a.b"},
            {"a": 2},
            STATES_RESULT_PATH_MATCH_FAILURE,
            'Unable to apply ReferencePath $.a.b to input {"a":2}',
        ),
    ],
    ids=["input-path", "output-path", "parameters", "result-path-through-number"],
)
def test_pass_data_flow_failures(
    fields: dict[str, JSON], execution_input: JSON, error: str, detail: str
) -> None:
    harness = run_definition(chain(("P", {"Type": "Pass", **fields})), execution_input)
    assert harness.finish == Finish("FAILED", error=error, cause=in_state("P", detail))
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "ExecutionFailed",
    ]


def test_context_object_fields() -> None:
    definition = chain(
        ("First", {"Type": "Pass", "Parameters": {"ctx.$": "$$"}}),
        (
            "Second",
            {
                "Type": "Pass",
                "Parameters": {"name.$": "$$.State.Name", "in.$": "$$.Execution.Input.k"},
            },
        ),
    )
    harness = Harness.of(definition, {"k": "v"})
    harness.run()
    first_output = rendered(harness.history[2])["output"]
    assert json.loads(str(first_output)) == {
        "ctx": {
            "Execution": {
                "Id": EXECUTION_ARN,
                "Input": {"k": "v"},
                "Name": "test-run",
                "RoleArn": "arn:aws:iam::111111111111:role/asl-engine",
                "StartTime": T0_ISO,
                "RedriveCount": 0,
            },
            # Only states that can retry carry RetryCount (recorded context_object cases).
            "State": {"EnteredTime": T0_ISO, "Name": "First"},
            "StateMachine": {"Id": MACHINE_ARN, "Name": "test-machine"},
        }
    }
    assert harness.finish == Finish("SUCCEEDED", output={"name": "Second", "in": "v"})


def test_an_express_context_object_has_no_redrive_count() -> None:
    # AWS recording: LocalStack test_express_sync.py::test_query_runtime_memory (15-07-2024).
    # An Express execution cannot be redriven: its $$.Execution has no RedriveCount, and AWS
    # lists the keys Id, Input, Name, RoleArn, StartTime.
    machine = compile_definition(chain(("First", {"Type": "Pass", "Parameters": {"ctx.$": "$$"}})))
    info = dataclasses.replace(make_info({"k": "v"}), execution_type="EXPRESS")
    harness = Harness(machine, new_execution(info, machine.root.start_at), now=T0)
    harness.run()
    assert harness.finish == Finish(
        "SUCCEEDED",
        output={
            "ctx": {
                "Execution": {
                    "Id": EXECUTION_ARN,
                    "Input": {"k": "v"},
                    "Name": "test-run",
                    "RoleArn": "arn:aws:iam::111111111111:role/asl-engine",
                    "StartTime": T0_ISO,
                },
                "StateMachine": {"Id": MACHINE_ARN, "Name": "test-machine"},
                "State": {"EnteredTime": T0_ISO, "Name": "First"},
            }
        },
    )
    output = rendered(harness.history[2])["output"]
    execution = json.loads(str(output))["ctx"]["Execution"]
    assert list(execution) == ["Id", "Input", "Name", "RoleArn", "StartTime"]


def test_context_entered_time_follows_the_event_time() -> None:
    definition = chain(
        ("Nap", {"Type": "Wait", "Seconds": 90}),
        (
            "After",
            {
                "Type": "Pass",
                "Parameters": {"t.$": "$$.State.EnteredTime", "s.$": "$$.Execution.StartTime"},
            },
        ),
    )
    harness = run_definition(definition)
    assert harness.finish == Finish(
        "SUCCEEDED", output={"t": "2023-11-14T22:14:50.000Z", "s": T0_ISO}
    )


def test_states_uuid_is_deterministic_for_a_seed() -> None:
    definition = chain(("U", {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}}))
    outputs = []
    for seed in (1, 1, 2):
        harness = Harness.of(definition, seed=seed)
        harness.run()
        assert harness.finish is not None
        outputs.append(harness.finish.output)
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


# -- Choice -----------------------------------------------------------------------------------

ROUTER = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "InputPath": "$.order",
            "OutputPath": "$.total",
            "Choices": [
                {"Variable": "$.total", "NumericGreaterThanEquals": 100, "Next": "Big"},
                {
                    "And": [
                        {"Variable": "$.kind", "StringEquals": "gift"},
                        {"Not": {"Variable": "$.wrapped", "BooleanEquals": True}},
                    ],
                    "Next": "Wrap",
                },
            ],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "End": True},
        "Wrap": {"Type": "Pass", "Parameters": {"wrap.$": "$"}, "End": True},
        "Small": {"Type": "Succeed"},
    },
}


@pytest.mark.parametrize(
    ("order", "path", "output"),
    [
        ({"total": 150, "kind": "gift"}, "Big", "big"),
        ({"total": 10, "kind": "gift", "wrapped": False}, "Wrap", {"wrap": 10}),
        ({"total": 10, "kind": "gift", "wrapped": True}, "Small", 10),
        ({"total": 10, "kind": "book"}, "Small", 10),
    ],
    ids=["first-rule", "and-not", "default-after-not", "default"],
)
def test_choice_routes_and_filters(order: JSON, path: str, output: JSON) -> None:
    harness = run_definition(ROUTER, {"order": order})
    assert harness.finish == Finish("SUCCEEDED", output=output)
    assert rendered(harness.history[3])["name"] == path
    # The Choice's own output is its effective input filtered by OutputPath.
    assert harness.history[2].type == "ChoiceStateExited"
    assert rendered(harness.history[2])["output"] == dumps(order["total"])  # type: ignore[index,call-overload]


def test_choice_without_match_or_default_fails() -> None:
    definition = chain(
        (
            "C",
            {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "S"}]},
        ),
        ("S", {"Type": "Succeed"}),
    )
    harness = run_definition(definition, {"x": 2})
    assert harness.finish == Finish("FAILED", error=STATES_NO_CHOICE_MATCHED, cause="No Matches!")
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ExecutionFailed",
    ]


# -- Fail and Succeed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "execution_input", "error", "cause"),
    [
        # Recorded: base/test_base/test_state_fail.
        (
            {
                "Error": "SomeFailure",
                "Cause": "This state machines raises a 'SomeFailure' failure.",
            },
            {},
            "SomeFailure",
            "This state machines raises a 'SomeFailure' failure.",
        ),
        ({"Error": "OnlyError"}, {}, "OnlyError", None),
        ({"ErrorPath": "$.e", "CausePath": "$.c"}, {"e": "Err", "c": "why"}, "Err", "why"),
        (
            {"ErrorPath": "$.e", "CausePath": "States.Format('code {}', $.n)"},
            {"e": "Err", "n": 3},
            "Err",
            "code 3",
        ),
    ],
    ids=["error-and-cause", "error-only", "paths", "intrinsic-cause"],
)
def test_fail(
    fields: dict[str, JSON], execution_input: JSON, error: str, cause: str | None
) -> None:
    harness = run_definition(chain(("F", {"Type": "Fail", **fields})), execution_input)
    assert harness.finish == Finish("FAILED", error=error, cause=cause)
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    expected: dict[str, JSON] = {"error": error}
    if cause is not None:
        expected["cause"] = cause
    assert rendered(harness.history[2]) == expected


def test_succeed_applies_input_and_output_path() -> None:
    definition = chain(("S", {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}))
    harness = run_definition(definition, {"a": {"b": 3}})
    assert harness.finish == Finish("SUCCEEDED", output=3)
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


# -- Wait ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "execution_input", "detail"),
    [
        # Recorded: base/test_wait/test_base_wait_seconds_path.-1 and .-1.5.
        (
            {"SecondsPath": "$.input.waitSeconds"},
            {"input": {"waitSeconds": -1}},
            "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
        ),
        (
            {"SecondsPath": "$.input.waitSeconds"},
            {"input": {"waitSeconds": -1.5}},
            "The SecondsPath parameter cannot be parsed as a long value: "
            "$.input.waitSeconds == -1.5",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": "x"},
            "The SecondsPath parameter cannot be parsed as a long value: $.s == x",
        ),
        # Recorded: base/test_wait/test_wait_timestamppath..000000 (no offset).
        (
            {"TimestampPath": "$.start_at"},
            {"start_at": "2025-01-01T00:00:00.000000"},
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            "date-time format string: $.start_at == 2025-01-01T00:00:00.000000",
        ),
    ],
    ids=["negative", "fraction", "string", "timestamp-without-offset"],
)
def test_wait_path_failures(wait: dict[str, JSON], execution_input: JSON, detail: str) -> None:
    harness = run_definition(chain(("W", {"Type": "Wait", **wait})), execution_input)
    assert harness.finish == Finish("FAILED", error=STATES_RUNTIME, cause=in_state("W", detail))
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "WaitStateEntered",
        "ExecutionFailed",
    ]


def test_wait_applies_input_and_output_path_before_waiting() -> None:
    definition = chain(
        ("W", {"Type": "Wait", "SecondsPath": "$.s", "InputPath": "$.inner", "OutputPath": "$.v"})
    )
    harness = Harness.of(definition, {"inner": {"s": 4, "v": "kept"}})
    started = harness.start()
    assert [c.__class__.__name__ for c in started.commands] == ["StartTimer"]
    harness.run()
    assert harness.finish == Finish("SUCCEEDED", output="kept")
    assert harness.history[-1].timestamp == harness.history[1].timestamp + 4
