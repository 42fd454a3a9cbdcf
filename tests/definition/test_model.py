"""load_model: the typed model of a validated definition (aliases, discriminated states)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.definition.model import (
    ChoiceState,
    MapState,
    ParallelState,
    PassState,
    StateMachine,
    TaskState,
    WaitState,
    load_model,
)
from engine.definition.validate import is_valid, iter_diagnostics

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(DATA.glob("valid_*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_valid_fixture_loads(path: Path) -> None:
    definition = json.loads(path.read_text())
    assert is_valid(iter_diagnostics(definition))
    machine = load_model(definition)
    assert isinstance(machine, StateMachine)
    assert set(machine.states) == set(definition["States"])
    assert machine.model_dump(by_alias=True, exclude_unset=True) == definition


def test_fields_are_snake_case_with_asl_aliases() -> None:
    machine = load_model(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "ResultPath": None,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "P"}],
                    "Next": "P",
                },
                "P": {"Type": "Pass", "End": True},
            },
        }
    )
    task = machine.states["T"]
    assert isinstance(task, TaskState)
    assert (task.resource, task.result_path, task.input_path) == (
        "arn:aws:states:::lambda:invoke",
        None,
        "$",
    )
    assert (task.retry[0].backoff_rate, task.retry[0].max_attempts) == (1.5, 3)
    assert (task.catch[0].next, task.catch[0].result_path) == ("P", "$")
    assert isinstance(machine.states["P"], PassState)
    assert machine.query_language == "JSONPath"


STATE_TYPES = [
    pytest.param({"Type": "Wait", "Seconds": 5, "End": True}, WaitState, id="wait"),
    pytest.param(
        {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a", "IsNull": True}, "Next": "X"}]},
        ChoiceState,
        id="choice",
    ),
    pytest.param(
        {
            "Type": "Parallel",
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
            "End": True,
        },
        ParallelState,
        id="parallel",
    ),
    pytest.param(
        {
            "Type": "Map",
            "Iterator": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
            "End": True,
        },
        MapState,
        id="map-iterator",
    ),
]


@pytest.mark.parametrize(("state", "model"), STATE_TYPES)
def test_states_are_discriminated_on_type(state: dict[str, object], model: type) -> None:
    machine = load_model({"StartAt": "X", "States": {"X": state}})
    assert type(machine.states["X"]) is model


def test_choice_combinators_and_map_processor() -> None:
    machine = load_model(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"And": [{"Variable": "$.a", "NumericGreaterThan": 1}], "Next": "M"}
                    ],
                },
                "M": {
                    "Type": "Map",
                    "Iterator": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                    "End": True,
                },
            },
        }
    )
    choice = machine.states["C"]
    assert isinstance(choice, ChoiceState)
    rule = choice.choices[0]
    assert rule.and_ is not None
    assert rule.and_[0].numeric_greater_than == 1
    mapped = machine.states["M"]
    assert isinstance(mapped, MapState)
    assert mapped.processor.processor_config.mode == "INLINE"


INVALID = [
    pytest.param({"StartAt": "X", "States": {"X": {"Type": "Nope"}}}, id="unknown-type"),
    pytest.param({"StartAt": "X", "States": {"X": {"Type": "Pass", "Foo": 1}}}, id="unknown-field"),
    pytest.param({"States": {}}, id="no-startat"),
]


@pytest.mark.parametrize("definition", INVALID)
def test_invalid_definitions_do_not_load(definition: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        load_model(definition)
