"""parse_text: JSON first, YAML fallback, located errors, duplicate keys rejected."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.values import JSON

PARSED = [
    pytest.param('{"StartAt": "S", "States": {}}', {"StartAt": "S", "States": {}}, id="json"),
    pytest.param("[1, 2]", [1, 2], id="json-array"),
    pytest.param("StartAt: S\nStates: {}\n", {"StartAt": "S", "States": {}}, id="yaml"),
    pytest.param(
        "Timestamp: 2016-03-14T01:59:00Z\nDate: 2016-03-14\n",
        {"Timestamp": "2016-03-14T01:59:00Z", "Date": "2016-03-14"},
        id="yaml-timestamps-stay-text",
    ),
    pytest.param("200: ok\n", {"200": "ok"}, id="yaml-int-key"),
    pytest.param("a: !!binary aGk=\n", {"a": "b'hi'"}, id="yaml-bytes-as-text"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse(text: str, expected: JSON) -> None:
    assert parse_text(text) == expected


ERRORS = [
    pytest.param(
        "not a definition", "Invalid JSON: Expecting value at line 1, column 1", 1, 1, id="words"
    ),
    pytest.param(
        '{"a": 1,\n "b": }', "Invalid JSON: Expecting value at line 2, column 7", 2, 7, id="json"
    ),
    pytest.param(
        '{"a": {"b": 1,\n  "c": [1, {"x": 2}],\n  "b": 3}}',
        "Duplicate field 'b' at line 3, column 3",
        3,
        3,
        id="json-duplicate",
    ),
    pytest.param(
        "a: 1\nb:\n  c: 2\n  c: 3\n",
        "Duplicate field 'c' at line 4, column 3",
        4,
        3,
        id="yaml-duplicate",
    ),
    pytest.param("", "Invalid JSON: Expecting value at line 1, column 1", 1, 1, id="empty"),
    pytest.param(
        "- a\n- b\n", "Invalid JSON: Expecting value at line 1, column 1", 1, 1, id="yaml-list"
    ),
    pytest.param(
        "a: [1,\n", "Invalid JSON: Expecting value at line 1, column 1", 1, 1, id="bad-yaml"
    ),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), ERRORS)
def test_parse_error(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(DefinitionSyntaxError) as caught:
        parse_text(text)
    assert (caught.value.message, caught.value.line, caught.value.column) == (message, line, column)


def test_yaml_load_is_safe() -> None:
    with pytest.raises(DefinitionSyntaxError):
        parse_text("a: !!python/object/apply:os.system ['true']\n")


JSONS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(JSONS)
def test_json_round_trip(value: JSON) -> None:
    assert parse_text(json.dumps(value)) == value
    assert parse_text(json.dumps(value, indent=2)) == value
