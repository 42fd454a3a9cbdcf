"""A Fail state's ErrorPath or CausePath that selects nothing fails the execution with AWS's cause.

Recorded by AWS in LocalStack's validated snapshot of tests/aws/services/stepfunctions/v2/
scenarios/test_base_scenarios.py::test_invalid_jsonpath[INVALID_JSONPATH_IN_ERRORPATH] and
[ST.INVALID_JSONPATH_IN_CAUSEPATH]: States.Runtime, the field named as for a `.$` key, and the
state input as compact JSON. Before this rule the path's internal exception escaped `step`.
"""

from __future__ import annotations

import pytest

from engine.errors import STATES_RUNTIME
from engine.interpreter.messages import Finish
from tests.interpreter.helpers import chain, check_event_chain, event_types, run_definition


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        (
            {"ErrorPath": "$.ErrorX"},
            "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in "
            'the input \'{"Error":"error-value"}\'',
        ),
        (
            {"ErrorPath": "$.Error", "CausePath": "$.NoSuchCausePath"},
            "The JSONPath '$.NoSuchCausePath' specified for the field 'CausePath' could not be "
            'found in the input \'{"Error":"error-value"}\'',
        ),
        (
            {"Error": "E", "CausePath": "$$.Execution.Input.nope"},
            "The JSONPath '$$.Execution.Input.nope' specified for the field 'CausePath' could "
            'not be found in the input \'{"Error":"error-value"}\'',
        ),
    ],
    ids=["error-path", "cause-path", "cause-context-path"],
)
def test_a_path_that_selects_nothing_is_a_runtime_failure(
    fields: dict[str, str], detail: str
) -> None:
    definition = chain(
        ("pass", {"Type": "Pass", "Parameters": {"Error": "error-value"}}),
        ("fail", {"Type": "Fail", **fields}),
    )
    harness = run_definition(definition, {"int-literal": 0})
    prefix = "An error occurred while executing the state 'fail' (entered at the event id #4). "
    assert harness.finish == Finish("FAILED", error=STATES_RUNTIME, cause=prefix + detail)
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    check_event_chain(harness.history)


def test_paths_that_select_values_still_name_error_and_cause() -> None:
    definition = chain(
        ("pass", {"Type": "Pass", "Parameters": {"e": "Oops", "c": "because"}}),
        ("fail", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}),
    )
    harness = run_definition(definition, {})
    assert harness.finish == Finish("FAILED", error="Oops", cause="because")
