"""Nesting limits: Parallel/Map states nest at most 100 deep, a definition's JSON 512 deep.

Regression tests for issue 13: a Parallel nested ~2,000 deep validated, took 24-30 s to create
and crashed the runtime; `[` x 50,000 must be a clean diagnostic, never a RecursionError. AWS
publishes no nesting limit (docs/validation.md, "Limits", says why these numbers).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.compile import compile_machine
from engine.definition.parse import MAX_DEFINITION_DEPTH, parse_text
from engine.definition.validate import iter_diagnostics, validate_text
from engine.definition.validate_fields import MAX_STATE_NESTING
from engine.embedded import Engine, ExecutionResult
from engine.errors import DefinitionInvalid
from engine.runtime.clock import VirtualClock
from engine.values import JSON

LEAF = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "Result": "leaf", "End": True}}}


def nested(kinds: list[str]) -> dict[str, JSON]:
    """Parallel ("P") and Map ("M") states nested in the order given, outermost first."""
    graph: dict[str, JSON] = json.loads(json.dumps(LEAF))
    for level in range(len(kinds), 0, -1):
        name = f"S{level}"
        state: dict[str, JSON] = {"Type": "Parallel", "Branches": [graph], "End": True}
        if kinds[level - 1] == "M":
            state = {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"items.$": "$.items"},  # each iteration passes the list on
                "ItemProcessor": graph,
                "End": True,
            }
        graph = {"StartAt": name, "States": {name: state}}
    return graph


def location_of(kinds: list[str], level: int) -> str:
    """The JSON pointer of the state at `level` (1 is the top-level state)."""
    loc = ""
    for index in range(1, level):
        loc += f"/States/S{index}" + (
            "/Branches/0" if kinds[index - 1] == "P" else "/ItemProcessor"
        )
    return loc + f"/States/S{level}"


def too_deep_message(kind: str) -> str:
    return (
        f"This {kind} state would be level 101 of nested Parallel and Map states; at most 100 "
        "levels may nest. Move the inner levels into a state machine of their own (a Task with "
        "Resource arn:aws:states:::states:startExecution.sync) or flatten them"
    )


def test_the_limits_are_100_levels_of_states_and_512_of_json() -> None:
    assert (MAX_STATE_NESTING, MAX_DEFINITION_DEPTH) == (100, 512)


def test_a_parallel_nested_2000_deep_is_refused_at_the_101st_level() -> None:
    kinds = ["P"] * 2_000
    [diagnostic] = validate_text(json.dumps(nested(kinds)))
    assert diagnostic.as_json() == {
        "code": "NESTING_LIMIT_EXCEEDED",
        "severity": "ERROR",
        "message": too_deep_message("Parallel"),
        "location": location_of(kinds, 101),
    }


def test_a_map_nested_101_deep_is_refused_at_its_innermost_map() -> None:
    kinds = ["M"] * 101
    [diagnostic] = iter_diagnostics(nested(kinds))
    assert (diagnostic.code, diagnostic.message, diagnostic.location) == (
        "NESTING_LIMIT_EXCEEDED",
        too_deep_message("Map"),
        location_of(kinds, 101),
    )


def test_100_levels_of_parallel_and_map_validate_and_compile() -> None:
    definition = nested(["P", "M"] * 50)
    assert list(iter_diagnostics(definition)) == []
    machine = compile_machine(definition)
    assert len(machine.graphs) == 101


def test_the_compiler_refuses_101_levels_even_unvalidated() -> None:
    kinds = ["P"] * 101
    with pytest.raises(DefinitionInvalid) as caught:
        compile_machine(nested(kinds))
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.location == location_of(kinds, 101) + "/Branches/0"
    assert diagnostic.message == "Parallel and Map states nest more than 100 levels deep"


@pytest.mark.parametrize(
    ("text", "column"),
    [("[" * 50_000, 513), ('{"a": ' * 50_000, 6 * 512 + 1), ('["]", ' + "[" * 50_000, 518)],
    ids=["arrays", "objects", "bracket-in-string"],
)
def test_text_nested_50000_deep_is_a_located_syntax_diagnostic(text: str, column: int) -> None:
    [diagnostic] = validate_text(text)
    assert diagnostic.as_json() == {
        "code": "INVALID_JSON_DESCRIPTION",
        "severity": "ERROR",
        "message": "The definition is nested too deeply: more than 512 levels of arrays and "
        f"objects (the engine's limit) at line 1, column {column}",
        "location": "",
    }


@pytest.mark.parametrize(
    ("text", "where"),
    [
        # PyYAML took seconds on each of these before it recursed too deep.
        ("StartAt: S\nComment: '[['\nx: " + "[" * 50_000, "line 3, column 516"),
        ("- " * 20_000, "line 1, column 1"),  # block style: no bracket to point at
    ],
    ids=["flow", "block"],
)
def test_yaml_nested_too_deep_is_a_syntax_diagnostic(text: str, where: str) -> None:
    [diagnostic] = validate_text(text)
    assert (diagnostic.code, diagnostic.message) == (
        "INVALID_JSON_DESCRIPTION",
        "The definition is nested too deeply: more than 512 levels of arrays and objects "
        f"(the engine's limit) at {where}",
    )


def test_a_value_nested_past_512_levels_is_refused_where_it_passes_the_limit() -> None:
    result: JSON = "bottom"
    for _ in range(600):
        result = {"k": result}
    definition: dict[str, JSON] = {
        "StartAt": "S",
        "States": {"S": {"Type": "Pass", "Result": result, "End": True}},
    }
    [diagnostic] = validate_text(json.dumps(definition))
    # The definition is level 1, /States 2, the state 3, Result 4: level 513 is 509 keys down.
    assert diagnostic.as_json() == {
        "code": "NESTING_LIMIT_EXCEEDED",
        "severity": "ERROR",
        "message": "The definition is nested too deeply here: more than 512 levels of arrays "
        "and objects (the engine's limit); flatten this value",
        "location": "/States/S/Result" + "/k" * 509,
    }


def test_a_machine_100_levels_deep_runs_through_the_engine_with_its_nested_output() -> None:
    async def main() -> ExecutionResult:
        engine = Engine(clock=VirtualClock(1_700_000_000.0), seed=1)
        try:
            machine = engine.load(json.dumps(nested(["P", "M"] * 50)), name="deep")
            return await engine.run(machine, {"items": [1]})
        finally:
            await engine.aclose()

    result = asyncio.run(main())
    expected: JSON = "leaf"
    for _ in range(100):  # each Parallel and each one-item Map wraps its result in a list
        expected = [expected]
    assert (result.status, result.output, result.error) == ("SUCCEEDED", expected, None)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 130).flatmap(
        lambda depth: st.lists(st.sampled_from(["P", "M"]), min_size=depth, max_size=depth)
    )
)
def test_nesting_is_valid_exactly_up_to_the_limit(kinds: list[str]) -> None:
    diagnostics = validate_text(json.dumps(nested(kinds)))
    if len(kinds) <= MAX_STATE_NESTING:
        assert diagnostics == []
        assert parse_text(json.dumps(nested(kinds))) == nested(kinds)
    else:
        [diagnostic] = diagnostics
        kind = "Parallel" if kinds[100] == "P" else "Map"
        assert (diagnostic.code, diagnostic.location, diagnostic.message) == (
            "NESTING_LIMIT_EXCEEDED",
            location_of(kinds, 101),
            too_deep_message(kind),
        )
