"""DefinitionSubstitutions on the definition's text: CloudFormation's replaceEachRepeatedly rule
(engine/definition/substitutions.py), table-driven, and as properties over any keys and values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.substitutions import (
    SUBSTITUTION_LOOP,
    SubstitutionLoop,
    SubstitutionValue,
    mentioned_keys,
    render_value,
    substitute,
)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ('{"R": "${Fn}"}', {"Fn": "arn:x"}, '{"R": "arn:x"}'),
        # A number lands as text: quoted, it stays a string (AWS rejects "60" for Seconds) ...
        ('{"Seconds": "${Wait}"}', {"Wait": 60}, '{"Seconds": "60"}'),
        # ... unquoted in a definition file, the text becomes the JSON number.
        ('{"Seconds": ${Wait}}', {"Wait": 60}, '{"Seconds": 60}'),
        ('{"B": ${Flag}}', {"Flag": True}, '{"B": true}'),
        ('{"B": ${Flag}}', {"Flag": False}, '{"B": false}'),
        ('{"R": ${Rate}}', {"Rate": 1.5}, '{"R": 1.5}'),
        ("${A}${A}-${B}", {"A": "x", "B": "y"}, "xx-y"),
        # A value holding another key's placeholder is replaced in the next pass.
        ("${A}", {"A": "pre-${B}", "B": "b"}, "pre-b"),
        ("${A}", {"A": "${B}", "B": "${C}", "C": "end"}, "end"),
        # Unknown keys stay as written (the validator reports them).
        ("${A} ${Other}", {"A": "x"}, "x ${Other}"),
        # Not placeholders: ${!Literal} (Fn::Sub's escape), $.path, a lone ${
        ("${!A} $.A ${", {"A": "x"}, "${!A} $.A ${"),
        # Keys are matched as written, with any characters.
        ("${my key}", {"my key": "v"}, "v"),
        ("plain", {"A": "x"}, "plain"),
    ],
    ids=[
        "string",
        "number-quoted-stays-string",
        "number-unquoted",
        "true",
        "false",
        "float",
        "repeated",
        "value-with-placeholder",
        "chain",
        "unknown-key-kept",
        "not-placeholders",
        "key-with-space",
        "no-placeholder",
    ],
)
def test_substitute(text: str, values: dict[str, SubstitutionValue], expected: str) -> None:
    assert substitute(text, values) == expected


@pytest.mark.parametrize(
    ("values", "listed"),
    [
        ({"A": "${B}", "B": "${A}"}, "A, B"),
        ({"A": "x${A}"}, "A"),
        ({"A": "${B}", "B": "${C}", "C": "${A}", "D": "d"}, "A, B, C"),
    ],
    ids=["two-keys", "self", "three-keys"],
)
def test_a_loop_is_refused_naming_its_keys(
    values: dict[str, SubstitutionValue], listed: str
) -> None:
    with pytest.raises(SubstitutionLoop) as caught:
        substitute("${A}", values)
    assert caught.value.code == SUBSTITUTION_LOOP == "InvalidDefinitionSubstitutions"
    assert caught.value.message == (
        f"The substitutions refer to each other in a loop ({listed}): a value holds a "
        "placeholder whose value leads back to it; give one of them a literal value"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [("s", "s"), (60, "60"), (-1, "-1"), (True, "true"), (False, "false"), (0.25, "0.25")],
)
def test_values_are_written_as_java_writes_them(value: SubstitutionValue, text: str) -> None:
    assert render_value(value) == text


def test_mentioned_keys() -> None:
    assert mentioned_keys('{"a": "${A}", "b": "${B}x${A}", "c": "${!C}$"}') == {"A", "B", "!C"}
    assert mentioned_keys("no placeholder") == set()


KEYS = st.text(alphabet=st.characters(blacklist_characters="${}"), min_size=1, max_size=8)
VALUES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="$"), max_size=12),
    st.integers(),
    st.booleans(),
)


@given(
    st.text(alphabet=st.characters(blacklist_characters="$"), max_size=60),
    st.dictionaries(KEYS, VALUES),
)
def test_text_without_placeholders_comes_back_unchanged(
    text: str, values: dict[str, SubstitutionValue]
) -> None:
    assert substitute(text, values) == text


@given(st.dictionaries(KEYS, VALUES, min_size=1), st.lists(st.text(max_size=6), max_size=4))
def test_every_given_key_is_replaced_by_its_value(
    values: dict[str, SubstitutionValue], fillers: list[str]
) -> None:
    """Values without `$` hold no placeholder, so one pass fills every key exactly."""
    keys = sorted(values)
    safe = [filler.replace("$", "") for filler in fillers] + [""] * len(keys)
    text = "".join(f"{safe[i]}${{{key}}}" for i, key in enumerate(keys)) + "|"
    expected = "".join(f"{safe[i]}{render_value(values[key])}" for i, key in enumerate(keys))
    assert substitute(text, values) == expected + "|"


@given(st.text(max_size=80), st.dictionaries(st.text(max_size=6), st.text(max_size=12)))
def test_substitution_never_raises_but_for_a_loop(text: str, values: dict[str, str]) -> None:
    """Any text, any string keys and values: a result, or the loop error (never another)."""
    try:
        result = substitute(text, values)
    except SubstitutionLoop:
        return
    assert isinstance(result, str)
    assert substitute(result, {}) == result  # idempotent once nothing is given
