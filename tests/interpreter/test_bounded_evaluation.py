"""Bounded JSONata evaluation through `step` (issue 13): a runaway expression or a refused regex
fails its state with States.QueryEvaluationError and AWS's EvaluationFailed event; a regex that
backtracks exponentially under Python's `re` decides a Choice at once.

The runaway loop below spends its time in native calls between few evaluated nodes, so only the
time budget can stop it (the step budget would let it run for many minutes: the timeout marker
fails the test on an engine without the time budget).
"""

from __future__ import annotations

import pytest

from engine.definition.compile import compile_machine
from engine.errors import STATES_QUERY_EVALUATION_ERROR
from engine.values import JSON
from tests.interpreter.helpers import Harness, as_definition, echo, event_types, run_definition


def jsonata(states: dict[str, JSON], start: str | None = None) -> dict[str, JSON]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def in_state(name: str, entered: int, detail: str) -> str:
    return (
        f"An error occurred while executing the state '{name}' (entered at the event id "
        f"#{entered}). {detail}"
    )


SLOW_LOOP = "($f := function($x){ ($sum($range(1, 100000, 1)); $f($x + 1)) }; $f(1))"


@pytest.mark.timeout(30)
def test_a_runaway_expression_fails_the_state() -> None:
    definition = jsonata(
        {"Loop": {"Type": "Pass", "Output": {"n": "{% " + SLOW_LOOP + " %}"}, "End": True}}
    )
    harness = run_definition(definition, {}, echo)
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.error, harness.finish.cause) == (
        "FAILED",
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "Loop",
            2,
            f"The JSONata expression '{SLOW_LOOP}' specified for the field 'Output/n' threw an "
            "error during evaluation: Expression evaluation timeout: Check for infinite loop",
        ),
    )
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "EvaluationFailed",
        "ExecutionFailed",
    ]


def test_a_refused_regex_fails_the_state_at_run_time() -> None:
    # Compiled without validation (as a definition stored before the refusal would be).
    expression = "$contains($states.input.s, /a(?=b)/)"
    machine = compile_machine(
        as_definition(
            jsonata({"P": {"Type": "Pass", "Output": "{% " + expression + " %}", "End": True}})
        )
    )
    harness = Harness.of(machine, {"s": "ab"})
    harness.run(echo)
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.error, harness.finish.cause) == (
        "FAILED",
        STATES_QUERY_EVALUATION_ERROR,
        in_state(
            "P",
            2,
            f"The JSONata expression '{expression}' specified for the field 'Output' threw an "
            "error during evaluation: The regular expression /a(?=b)/ uses a lookahead "
            "assertion '(?=', which is not supported: regular expressions run on RE2 (linear "
            "time), which has no backreferences or lookaround",
        ),
    )


@pytest.mark.timeout(20)
def test_an_exponential_regex_decides_a_choice_at_once() -> None:
    definition = jsonata(
        {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $contains($states.input.s, /(a+)+$/) %}", "Next": "Yes"}
                ],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Output": "yes", "End": True},
            "No": {"Type": "Pass", "Output": "no", "End": True},
        },
        "C",
    )
    for text, expected in (("a" * 40 + "b", "no"), ("a" * 40, "yes")):
        harness = run_definition(definition, {"s": text}, echo)
        assert harness.finish is not None
        assert (harness.finish.status, harness.finish.output) == ("SUCCEEDED", expected)
