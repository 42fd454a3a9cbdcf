"""parse_text: JSON first, YAML 1.2 fallback, located errors, duplicate keys rejected."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import main
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
    # YAML 1.2 core schema (serverless, SAM and js-yaml read YAML 1.2): YAML 1.1's booleans
    # are state names and strings, and only true/false spellings are booleans.
    pytest.param(
        "StartAt: Ask\nStates:\n  Ask: {Type: Choice, Default: No}\n  Yes: {Type: Succeed}\n"
        "  No: {Type: Fail}\n",
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {"Type": "Choice", "Default": "No"},
                "Yes": {"Type": "Succeed"},
                "No": {"Type": "Fail"},
            },
        },
        id="yaml-yes-no-state-names",
    ),
    pytest.param(
        "a: [yes, no, on, off, y, n, Y, N, Yes, NO, On, OFF]\n",
        {"a": ["yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "NO", "On", "OFF"]},
        id="yaml-1.1-booleans-are-strings",
    ),
    pytest.param(
        "a: [true, True, TRUE, false, False, FALSE]\n",
        {"a": [True, True, True, False, False, False]},
        id="yaml-booleans",
    ),
    pytest.param(
        "a: [null, Null, NULL, ~, nil, None, '']\nb:\n",
        {"a": [None] * 4 + ["nil", "None", ""], "b": None},
        id="yaml-nulls",
    ),
    pytest.param(
        "a: [12, -3, +4, 0777, 0o17, 0x1F, 1_000, 1:20, 0b11, -0o7, +0x1, 08]\n",
        {"a": [12, -3, 4, 777, 15, 31, "1_000", "1:20", "0b11", "-0o7", "+0x1", 8]},
        id="yaml-integers",
    ),
    pytest.param(
        "a: [1.5, 1e3, .5, 1., -2.5E-1, +.inf, -.Inf, nan, inf, 1_0.5, 1:2.5]\n",
        {"a": [1.5, 1000.0, 0.5, 1.0, -0.25, math.inf, -math.inf, "nan", "inf", "1_0.5", "1:2.5"]},
        id="yaml-floats",
    ),
    pytest.param(
        "a: [2016-03-14, '12:30:00', 12:30:00, =, <<]\n",
        {"a": ["2016-03-14", "12:30:00", "12:30:00", "=", "<<"]},
        id="yaml-other-1.1-types-are-strings",
    ),
    pytest.param(
        "1: a\ntrue: b\nnull: c\n~: d\n1.0: e\n0x1F: f\nyes: g\n",
        {"1": "a", "true": "b", "null": "c", "~": "d", "1.0": "e", "0x1F": "f", "yes": "g"},
        id="yaml-keys-as-written",
    ),
    pytest.param(
        "Defaults: &retry {ErrorEquals: [States.ALL], MaxAttempts: 2}\n"
        "Retry:\n  - <<: *retry\n    MaxAttempts: 5\n",
        {
            "Defaults": {"ErrorEquals": ["States.ALL"], "MaxAttempts": 2},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
        },
        id="yaml-merge-key-overridden",
    ),
    pytest.param("a: !!int 0777\nb: !!float 1\n", {"a": 777, "b": 1.0}, id="yaml-explicit-tags"),
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
    # Text that is not JSON and does not open like JSON is YAML: YAML's own error, located.
    pytest.param(
        "a: [1,\n",
        "Invalid YAML: expected the node content, but found '<stream end>' at line 2, column 1",
        2,
        1,
        id="bad-yaml",
    ),
    pytest.param(
        "StartAt: Ask\nStates:\n  Ask: Type: Pass\n",
        "Invalid YAML: mapping values are not allowed here at line 3, column 12",
        3,
        12,
        id="yaml-mapping-values",
    ),
    pytest.param(
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n   Comment: x\n",
        "Invalid YAML: expected <block end>, but found '<block mapping start>' (while parsing a "
        "block mapping at line 3, column 3) at line 6, column 4",
        6,
        4,
        id="yaml-indentation",
    ),
    pytest.param(
        "StartAt: A\nStates:\n\tA: {}\n",
        "Invalid YAML: found character '\\t' that cannot start any token at line 3, column 1",
        3,
        1,
        id="yaml-tab",
    ),
    pytest.param(
        'a: "abc\n',
        "Invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 1, "
        "column 4) at line 2, column 1",
        2,
        1,
        id="yaml-open-quote",
    ),
    pytest.param(
        "a: 1\n---\nb: 2\n",
        "Invalid YAML: expected a single document in the stream (line 1, column 1), but found "
        "another document at line 2, column 1",
        2,
        1,
        id="yaml-two-documents",
    ),
    pytest.param(
        "a: ok\nb: \x01\n",
        "Invalid YAML: unacceptable character #x0001: special characters are not allowed at "
        "line 2, column 4",
        2,
        4,
        id="yaml-control-character",
    ),
    pytest.param(
        "a: !!bool yes\n",
        "Invalid YAML: 'yes' is not a YAML 1.2 boolean at line 1, column 4",
        1,
        4,
        id="yaml-explicit-1.1-boolean",
    ),
    pytest.param(
        "? [a]\n: b\n",
        "Invalid YAML: a mapping key must be a name, not a sequence at line 1, column 3",
        1,
        3,
        id="yaml-sequence-key",
    ),
    pytest.param(
        "1: a\n'1': b\n", "Duplicate field '1' at line 2, column 1", 2, 1, id="yaml-key-as-text"
    ),
    pytest.param(
        "a: 1\n" + "b: " + "1" * 5000 + "\n",
        "Invalid YAML: the integer has too many digits at line 2, column 4",
        2,
        4,
        id="yaml-huge-integer",
    ),
    pytest.param(
        '{"a":\n ' + "1" * 5000 + "}",
        "Invalid JSON: the number has too many digits at line 2, column 2",
        2,
        2,
        id="json-huge-integer",
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


def test_asl_validate_reports_a_yaml_error_on_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("StartAt: Ask\nStates:\n  Ask: Type: Pass\n")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out == (
        f"{path}: /: INVALID_JSON_DESCRIPTION: Invalid YAML: mapping values are not allowed "
        "here at line 3, column 12\n"
        f"{path}: INVALID (1 errors, 0 warnings)\n"
    )
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: /: INVALID_JSON_DESCRIPTION: Invalid YAML: mapping values are not allowed "
        "here at line 3, column 12\n"
    )
