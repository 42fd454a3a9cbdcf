"""The oracles catch what they claim to: a broken history fails them (tests of the tests).

One known execution (a retried, then caught Task, then a Parallel whose branches interleave)
passes every oracle; each case breaks one promise in its history and expects the oracles to
notice. A check that can never fail would make every generated example pass in vain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import pytest

from engine.interpreter.history import HistoryEvent, Payload
from engine.values import JSON
from tests.generated import choices, drivers, oracles, outcomes
from tests.generated.expressions import T0
from tests.generated.strategies import FUNCTION_ARN, Bounds, GeneratedMachine

KNOWN = GeneratedMachine(
    definition={
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": FUNCTION_ARN + "gen_plan",
                "Parameters": {
                    "plan": ["Transient", "Transient", "Permanent"],
                    "attempt.$": "$$.State.RetryCount",
                    "value.$": "$.n",
                },
                "Retry": [
                    {
                        "ErrorEquals": ["Transient"],
                        "IntervalSeconds": 2,
                        "BackoffRate": 3,
                        "MaxAttempts": 2,
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Both"}],
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 5, "End": True}}},
                ],
                "ResultPath": None,
                "End": True,
            },
        },
    },
    input={"n": 1},
    features=frozenset(),
    bounds=Bounds(entries=10, attempts=3, timers=3),
)


def known_history() -> list[HistoryEvent]:
    run = drivers.run_steps(KNOWN)
    assert run.harness.state.status.value == "SUCCEEDED"
    return list(run.harness.history)


def check(
    history: Sequence[HistoryEvent | Mapping[str, object]], status: str = "SUCCEEDED"
) -> None:
    walk = oracles.check_history(KNOWN.definition, history, status)
    outcomes.check_tasks(walk)
    outcomes.check_catches(walk)


def test_the_known_history_passes_every_oracle() -> None:
    history = known_history()
    check(history)
    types = [event.type for event in history]
    assert types.count("LambdaFunctionScheduled") == 3
    assert [e.timestamp - T0 for e in history if e.type == "LambdaFunctionScheduled"] == [0, 2, 8]


def index_of(history: list[HistoryEvent], event_type: str, nth: int = 0) -> int:
    return [i for i, event in enumerate(history) if event.type == event_type][nth]


def relink(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = index_of(history, "WaitStateEntered")  # a branch's first event, linked elsewhere
    history[at] = dataclasses.replace(history[at], previous_event_id=history[at].id - 1)
    return history


def drop_exit(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = index_of(history, "TaskStateExited")
    gone = history.pop(at)
    return [
        dataclasses.replace(
            event,
            id=event.id - (event.id > gone.id),
            previous_event_id=(
                gone.previous_event_id
                if event.previous_event_id == gone.id
                else event.previous_event_id - (event.previous_event_id > gone.id)
            ),
        )
        for event in history
    ]


def late_retry(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = index_of(history, "LambdaFunctionScheduled", 2)
    return [
        dataclasses.replace(event, timestamp=event.timestamp + 1) if index >= at else event
        for index, event in enumerate(history)
    ]


def wrong_catch_output(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = index_of(history, "TaskStateExited")
    details = dict(history[at].details or {})
    details["output"] = Payload({"n": 1, "err": {"Error": "Transient"}})
    history[at] = dataclasses.replace(history[at], details=details)
    return history


def wrong_outcome(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = index_of(history, "LambdaFunctionFailed")
    history[at] = dataclasses.replace(history[at], details={"error": "Permanent"})
    return history


def time_goes_back(history: list[HistoryEvent]) -> list[HistoryEvent]:
    at = len(history) - 1
    history[at] = dataclasses.replace(history[at], timestamp=T0 - 1)
    return history


def two_closings(history: list[HistoryEvent]) -> list[HistoryEvent]:
    last = history[-1]
    return [*history, dataclasses.replace(last, id=last.id + 1, previous_event_id=last.id)]


@pytest.mark.parametrize(
    "breaks",
    [
        relink,
        drop_exit,
        late_retry,
        wrong_catch_output,
        wrong_outcome,
        time_goes_back,
        two_closings,
    ],
)
def test_a_broken_history_fails_the_oracles(
    breaks: Callable[[list[HistoryEvent]], list[HistoryEvent]],
) -> None:
    with pytest.raises(AssertionError):
        check(breaks(known_history()))


def test_a_status_the_history_does_not_end_with_fails() -> None:
    with pytest.raises(AssertionError, match="ExecutionSucceeded but the status is FAILED"):
        check(known_history(), "FAILED")


def test_oracles_read_the_aws_json_shape_too() -> None:
    check([event.as_json() for event in known_history()])


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"Variable": "$.n", "NumericEquals": 1}, {"n": 1.0}, True),
        ({"Variable": "$.n", "NumericEquals": 1}, {"n": "1"}, False),
        ({"Variable": "$.n", "NumericLessThan": 2}, {"n": True}, False),
        ({"Variable": "$.s", "StringMatches": "a*c"}, {"s": "abbc"}, True),
        ({"Variable": "$.s", "StringMatches": "a?"}, {"s": "ab"}, False),
        ({"Variable": "$.t", "IsTimestamp": True}, {"t": "2023-11-14T22:13:20.123456789Z"}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, {"t": "2023-11-14T22:13:20"}, False),
        ({"Variable": "$.t", "IsTimestamp": True}, {"t": "2023-11-14t22:13:20z"}, False),
        ({"Variable": "$.t", "IsTimestamp": True}, {"t": "2023-02-30T00:00:00Z"}, False),
        (
            {"Variable": "$.t", "TimestampEquals": "2023-11-14T22:13:20Z"},
            {"t": "2023-11-15T03:43:20+05:30"},
            True,
        ),
        ({"Variable": "$.x", "IsPresent": False}, {}, True),
        ({"Not": {"Variable": "$.x", "IsNull": True}}, {"x": None}, False),
        (
            {
                "And": [
                    {"Variable": "$.a", "BooleanEquals": True},
                    {"Variable": "$.a", "IsBoolean": True},
                ]
            },
            {"a": True},
            True,
        ),
        ({"Variable": "$.n", "NumericGreaterThanPath": "$.m"}, {"n": 2, "m": 1}, True),
    ],
)
def test_the_choice_oracle_reads_rules_as_the_spec_does(
    rule: dict[str, JSON], data: JSON, expected: bool
) -> None:
    assert choices.evaluate(rule, data) is expected


def test_the_choice_oracle_knows_what_it_cannot_tell() -> None:
    with pytest.raises(choices.MissingPath):
        choices.evaluate({"Variable": "$.missing", "NumericEquals": 1}, {})
    with pytest.raises(choices.Unknown):
        choices.evaluate({"Variable": "$answer", "NumericEquals": 1}, {})
