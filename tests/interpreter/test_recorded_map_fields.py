"""Map fields read from the state input: AWS tells a value of the wrong type from one out of range.

The causes are AWS's, recorded in LocalStack's AWS-validated snapshots of
tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py:
test_map_state_tolerated_failure_count_path, test_map_state_tolerated_failure_percentage_path
and test_max_concurrency_path_negative.
"""

from __future__ import annotations

import pytest

from engine.errors import STATES_RUNTIME
from engine.interpreter.messages import Finish
from engine.values import JSON
from tests.interpreter.helpers import chain, event_types, run_definition

PROCESSOR: dict[str, JSON] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def in_state(detail: str) -> str:
    return f"An error occurred while executing the state 'M' (entered at the event id #2). {detail}"


def map_reading(field: str, value: JSON) -> tuple[dict[str, JSON], dict[str, JSON]]:
    """A Map over `$.items` whose `field` (a *Path field) reads `$.v`, and its input."""
    definition = chain(
        ("M", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": PROCESSOR, field: "$.v"})
    )
    return definition, {"items": [0], "v": value}


COUNT = "ToleratedFailureCountPath"
PERCENT = "ToleratedFailurePercentagePath"
CONCURRENCY = "MaxConcurrencyPath"


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        (
            COUNT,
            {},
            'The ToleratedFailureCountPath field refers to value "{}" which is not a '
            "valid integer: $.v",
        ),
        (
            COUNT,
            "NoNumber",
            'The ToleratedFailureCountPath field refers to value "NoNumber" '
            "which is not a valid integer: $.v",
        ),
        (COUNT, -1, "ToleratedFailureCount cannot be negative."),
        (
            PERCENT,
            {},
            'The ToleratedFailurePercentagePath field refers to value "{}" which is '
            "not a valid float: $.v",
        ),
        (
            PERCENT,
            "NoNumber",
            "The ToleratedFailurePercentagePath field refers to value "
            '"NoNumber" which is not a valid float: $.v',
        ),
        (PERCENT, -1, "ToleratedFailurePercentage must be between 0 and 100."),
        (PERCENT, -1.1, "ToleratedFailurePercentage must be between 0 and 100."),
        (PERCENT, 100.1, "ToleratedFailurePercentage must be between 0 and 100."),
        (CONCURRENCY, -1, "Expected non-negative integer for MaxConcurrency, got '-1' instead."),
    ],
    ids=[
        "count-object",
        "count-string",
        "count-negative",
        "percentage-object",
        "percentage-string",
        "percentage-negative-int",
        "percentage-negative-float",
        "percentage-over-100",
        "concurrency-negative",
    ],
)
def test_a_bad_value_fails_the_execution(field: str, value: JSON, detail: str) -> None:
    definition, execution_input = map_reading(field, value)
    harness = run_definition(definition, execution_input)
    assert harness.finish == Finish("FAILED", error=STATES_RUNTIME, cause=in_state(detail))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (COUNT, 0),
        (PERCENT, 0),
        (PERCENT, 1.1),
        (PERCENT, 100),
        (CONCURRENCY, 0),
        # A string holding a number is read as that number: AWS ran these Maps
        # (test_assign_reference_variables.py::test_reference_in_map_state
        # [MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH] and [..._TOLERATED_FAILURE_PATH]).
        (COUNT, "1"),
        (PERCENT, "1"),
        (CONCURRENCY, "1"),
    ],
    ids=[
        "count-zero",
        "percentage-zero",
        "percentage-float",
        "percentage-100",
        "concurrency-0",
        "count-text",
        "percentage-text",
        "concurrency-text",
    ],
)
def test_a_value_in_range_runs_the_map(field: str, value: JSON) -> None:
    definition, execution_input = map_reading(field, value)
    harness = run_definition(definition, execution_input)
    assert harness.finish == Finish("SUCCEEDED", output=[0])
    assert "MapStateSucceeded" in event_types(harness.history)
