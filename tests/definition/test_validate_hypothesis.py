"""iter_diagnostics never raises: arbitrary JSON, and valid definitions mutated at random."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.validate import is_valid, iter_diagnostics, validate_text
from engine.values import JSON

DATA = Path(__file__).parent / "data"
VALID = [json.loads(p.read_text()) for p in sorted(DATA.glob("valid_*.json"))]

SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
ASL_WORDS = st.sampled_from(
    [
        "Type",
        "Next",
        "End",
        "StartAt",
        "States",
        "Task",
        "Pass",
        "Choice",
        "Map",
        "Parallel",
        "$",
        "$.a",
        "$$",
        "States.ALL",
        "{% 1 %}",
        "{% ( %}",
        "Resource",
        "Branches",
        "Choices",
    ]
)
JSONS = st.recursive(
    SCALARS | ASL_WORDS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | ASL_WORDS, inner, max_size=5)
    ),
    max_leaves=30,
)


@given(JSONS)
def test_arbitrary_json_never_raises(value: JSON) -> None:
    for machine_type in ("STANDARD", "EXPRESS"):
        for diagnostic in iter_diagnostics(value, machine_type=machine_type):
            assert diagnostic.code
            assert diagnostic.location == "" or diagnostic.location.startswith("/")


@given(st.text(max_size=40))
def test_arbitrary_text_never_raises(text: str) -> None:
    validate_text(text)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*path, index))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


@settings(max_examples=300)
@given(st.data())
def test_mutated_valid_definitions_never_raise(data: st.DataObject) -> None:
    definition = copy.deepcopy(data.draw(st.sampled_from(VALID)))
    assert is_valid(iter_diagnostics(definition))
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in _nodes(definition) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = _parent(definition, path)
        action = data.draw(st.sampled_from(["drop", "rename", "retype", "renext"]))
        key = path[-1]
        if action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[data.draw(ASL_WORDS | st.text(max_size=6))] = parent.pop(key)
        elif action == "retype":
            parent[key] = data.draw(JSONS)
        elif isinstance(parent, dict):
            parent["Next"] = data.draw(ASL_WORDS | st.sampled_from(["S", "Nowhere"]))
    list(iter_diagnostics(definition))
    list(iter_diagnostics(definition, machine_type="EXPRESS"))
