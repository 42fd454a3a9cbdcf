"""engine/asltest/matching.py: exact and subset comparison, every difference at its JSON path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.asltest.matching import MISSING, differences, is_subsequence, json_path
from engine.values import JSON

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["a", "b", ""])
values: st.SearchStrategy[JSON] = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["x", "y", "z", "a b"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize(
    ("expected", "actual", "subset", "messages"),
    [
        ({"a": 1}, {"a": 1}, False, []),
        ({"a": 1}, {"a": 1.0}, False, []),
        ({"a": 1}, {"a": True}, False, ["$.a: expected 1, got true"]),
        ({"a": 1}, {"a": 2, "b": 3}, False, ["$.a: expected 1, got 2", "$.b: not expected, got 3"]),
        ({"a": 1}, {"a": 1, "b": 3}, True, []),
        ({"a": {"b": [1, 2]}}, {"a": {}}, True, ["$.a.b: expected [1,2], but it is missing"]),
        (
            [{"id": 1}],
            [{"id": 1}, {"id": 2}],
            True,
            [
                "$: expected an array of 1 items, got 2: "
                'expected [{"id":1}], got [{"id":1},{"id":2}]'
            ],
        ),
        ([{"id": 1}], [{"id": 1, "qty": 2}], True, []),
        ({"my key": "v"}, {"my key": "w"}, False, ['$["my key"]: expected "v", got "w"']),
        ({"a": None}, {}, True, ["$.a: expected null, but it is missing"]),
        ({"a": "x"}, "x", False, ['$: expected {"a":"x"}, got "x"']),
    ],
    ids=[
        "equal",
        "int-float",
        "bool-is-not-1",
        "changed-and-extra",
        "subset-extra-ok",
        "subset-missing",
        "subset-array-length",
        "subset-array-items",
        "quoted-key",
        "null-vs-missing",
        "object-vs-string",
    ],
)
def test_differences(expected: JSON, actual: JSON, subset: bool, messages: list[str]) -> None:
    assert [d.message() for d in differences(expected, actual, subset=subset)] == messages


def test_a_long_string_shows_where_it_differs() -> None:
    expected = "x" * 100 + "requestId: 1"
    actual = "x" * 100 + "requestId: 2"
    [difference] = differences(expected, actual)
    assert difference.message() == (
        '$: the strings differ from character 111: expected ..."xxxxxxxxxrequestId: 1", '
        'got ..."xxxxxxxxxrequestId: 2"'
    )


def test_json_path() -> None:
    assert json_path(["items", 1, "sku"]) == "$.items[1].sku"
    assert json_path(["a-b", 0]) == '$["a-b"][0]'
    assert json_path([]) == "$"


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(values)
def test_a_value_matches_itself_exactly_and_as_a_subset(value: JSON) -> None:
    assert differences(value, value) == []
    assert differences(value, value, subset=True) == []


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(values, values)
def test_no_difference_exactly_means_equal_values(expected: JSON, actual: JSON) -> None:
    same = not differences(expected, actual)
    assert same == (_normal(expected) == _normal(actual))
    if same:  # an exact match is a subset match
        assert differences(expected, actual, subset=True) == []


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.sampled_from(["x", "y", "z"]), values, max_size=3), st.data())
def test_dropping_keys_from_the_expected_object_keeps_a_subset_match(
    actual: dict[str, JSON], data: st.DataObject
) -> None:
    kept = data.draw(st.lists(st.sampled_from(sorted(actual)), unique=True)) if actual else []
    assert differences({k: actual[k] for k in kept}, actual, subset=True) == []


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(values, values)
def test_every_difference_names_a_path_and_what_differs(expected: JSON, actual: JSON) -> None:
    for difference in differences(expected, actual, subset=True):
        assert difference.path.startswith("$")
        assert difference.expected is not MISSING or difference.actual is not MISSING


def _normal(value: JSON) -> object:
    """A value where True and 1 differ (Python's == says they are equal)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return ("object", sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", [_normal(v) for v in value])
    if isinstance(value, int | float):
        return ("number", value)
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        ([], ["A"], True),
        (["A", "C"], ["A", "B", "C"], True),
        (["C", "A"], ["A", "B", "C"], False),
        (["A", "A"], ["A", "B"], False),
        (["A", "A"], ["A", "B", "A"], True),
    ],
)
def test_is_subsequence(expected: list[str], actual: list[str], found: bool) -> None:
    assert is_subsequence(expected, actual) is found


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from("ABC"), max_size=8), st.data())
def test_any_ordered_selection_of_the_path_is_a_subsequence(
    path: list[str], data: st.DataObject
) -> None:
    keep = data.draw(st.lists(st.booleans(), min_size=len(path), max_size=len(path)))
    assert is_subsequence([s for s, k in zip(path, keep, strict=True) if k], path)
