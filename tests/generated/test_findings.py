"""Bugs the generated machines found, each shrunk to a minimal definition (issue 12 item 2).

Each test states what should happen. While a bug is open its test is marked
`xfail(strict=True)`: it fails today, and the day someone fixes the bug it passes, so strict
xfail fails the run until the marker goes; the test then stays, as a regression test.
`strategies.KNOWN_BUGS` lists the open ones the generator steers around meanwhile (by number).
"""

from __future__ import annotations

import asyncio

import pytest

from engine.values import JSON
from tests.generated import drivers
from tests.generated.strategies import Bounds, GeneratedMachine


def machine(definition: dict[str, JSON], execution_input: JSON) -> GeneratedMachine:
    return GeneratedMachine(definition, execution_input, frozenset(), Bounds(10, 10, 10))


# 1. A Wait that reads more than 99999999 seconds from its input waits past the year 9999.
# The validator refuses such a `Seconds` literal (0..99999999), but SecondsPath and a JSONata
# Seconds take any value at run time: the execution SUCCEEDS with a stop date in the year
# 33712, and rendering its history (asl run --history, GetExecutionHistory, DescribeExecution)
# raises ValueError("year 33712 is out of range"). Expected: the value is refused at run time
# (a States.Runtime failure of the Wait, as for a negative SecondsPath), or at least a history
# that renders. Fixed: format_time renders any time, past 9999 with ISO 8601's expanded year.


@pytest.mark.parametrize(
    "definition",
    [
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.secs", "End": True}}},
        {
            "QueryLanguage": "JSONata",
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": "{% $states.input.secs %}", "End": True}},
        },
    ],
    ids=["SecondsPath", "JSONata-Seconds"],
)
def test_finding_1_a_wait_past_the_year_9999_leaves_a_history_that_renders(
    definition: dict[str, JSON],
) -> None:
    (result,) = asyncio.run(drivers.run_engine(machine(definition, {"secs": 10**12})))
    rendered = result.as_json(history=True)
    assert rendered["status"] in ("SUCCEEDED", "FAILED")


# 2. States.TaskFailed caught States.NoChoiceMatched, which docs/semantics.md said it does not.
# The docs were wrong: AWS's guide ("Error names") says States.TaskFailed "acts as a wildcard
# that matches any known error name except for States.Timeout", which is what the engine does
# (also leaving out States.HeartbeatTimeout, a kind of States.Timeout, and States.Runtime, which
# nothing catches). docs/semantics.md now says so, and this test pins it.


def test_finding_2_states_taskfailed_catches_a_states_error_from_a_branch() -> None:
    definition: dict[str, JSON] = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "C",
                        "States": {
                            "C": {
                                "Type": "Choice",
                                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}],
                            },
                            "D": {"Type": "Succeed"},
                        },
                    }
                ],
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Caught"}
                ],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    (result,) = asyncio.run(drivers.run_engine(machine(definition, {"n": 0})))
    assert (result.status, result.output) == (
        "SUCCEEDED",
        {"n": 0, "err": {"Error": "States.NoChoiceMatched", "Cause": "No Matches!"}},
    )
