"""Paths: compiling, finding (fast walk and jsonpath-ng), Jayway failure reasons, writing."""

from __future__ import annotations

import contextlib
import copy
import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.paths import (
    PathNoMatch,
    compile_path,
    compile_reference_path,
    render_steps,
    set_reference_path,
)
from engine.definition.scope import Scope
from engine.errors import ExpressionSyntaxError
from engine.values import JSON

DATA: JSON = {
    "a": {"b": [10, {"c": 3}], "n": None},
    "items": [{"price": 5, "name": "x"}, {"price": 20, "name": "y"}, {"price": 10.5}],
    "k y": 1,
    "it's": 2,
    "dash-key": 3,
}
SCOPE = Scope(
    context={"Execution": {"Id": "arn:x", "Input": {"q": 1}}, "Map": {"Item": {"Index": 2}}},
    variables={"v": {"a": [1, 2]}, "n": 7, "x_1": None},
)


@pytest.mark.parametrize(
    ("text", "root", "variable", "expected"),
    [
        ("$", "data", None, DATA),
        ("$.a.b[1].c", "data", None, 3),
        ("$.a.n", "data", None, None),
        ("$.a.b[-1]", "data", None, {"c": 3}),
        ("$['k y']", "data", None, 1),
        ('$["k y"]', "data", None, 1),
        ("$['it\\'s']", "data", None, 2),
        ("$.dash-key", "data", None, 3),
        ("$.a.b[ 0 ]", "data", None, 10),
        ("$$", "context", None, SCOPE.context),
        ("$$.Execution.Id", "context", None, "arn:x"),
        ("$$.Map.Item.Index", "context", None, 2),
        ("$v", "variable", "v", {"a": [1, 2]}),
        ("$v.a[1]", "variable", "v", 2),
        ("$n", "variable", "n", 7),
        ("$x_1", "variable", "x_1", None),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_definite_paths_find_one_value(
    text: str, root: str, variable: str | None, expected: JSON
) -> None:
    path = compile_path(text)
    assert (path.root, path.variable, path.definite) == (root, variable, True)
    assert path.find(DATA, SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        # Recorded AWS: indefinite paths on {} give [] (test_json_path_array_wildcard_or_slice_*).
        ("$[*]", {}, []),
        ("$.items[*]", {}, []),
        ("$.items[:1]", {}, []),
        ("$.item.items[:1]", {}, []),
        ("$.items[*].itemValue", {}, []),
        ("$.items[*].price", DATA, [5, 20, 10.5]),
        ("$.items[?(@.price > 10)]", DATA, [{"price": 20, "name": "y"}, {"price": 10.5}]),
        ("$.items[?(@.name == 'x')].price", DATA, [5]),
        ("$.items[1:]", DATA, [{"price": 20, "name": "y"}, {"price": 10.5}]),
        ("$.items[-1:]", DATA, [{"price": 10.5}]),
        ("$..price", DATA, [5, 20, 10.5]),
        ("$.a['n','b']", DATA, [None, [10, {"c": 3}]]),
        ("$.a.b[0,1]", DATA, [10, {"c": 3}]),
        ("$[*]", {"p": 1, "q": [2]}, [1, [2]]),
        ("$.*", [1, 2], [1, 2]),
        ("$.items[*]", {"items": "text"}, []),
        ("$[*]", None, []),
        # Jayway reads `.[` as `[`; a deployed AWS sample (account-vending-machine) relies on it.
        ("$.items.[?(@.price > 10)].price", DATA, [20, 10.5]),
        ("$.[?(@.n > 0)]", [{"n": 1}, {"n": 0}], [{"n": 1}]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_indefinite_paths_return_all_matches(text: str, data: JSON, expected: JSON) -> None:
    path = compile_path(text)
    assert not path.definite
    assert path.find(data, SCOPE) == expected


def test_indefinite_path_on_a_variable_and_the_context() -> None:
    assert compile_path("$v.a[*]").find(None, SCOPE) == [1, 2]
    assert compile_path("$$.Execution.*").find(None, SCOPE) == ["arn:x", {"q": 1}]


@pytest.mark.parametrize(
    ("text", "data", "reason"),
    [
        # Recorded AWS causes quote these Jayway reasons (test_invalid_jsonpath, catch_runtime).
        ("$.NoSuchInputPath", {"int-literal": 0}, "No results for path: $['NoSuchInputPath']"),
        ("$.no.such.result.path", {}, "Missing property in path $['no']"),
        ("$.a.x", DATA, "No results for path: $['a']['x']"),
        ("$.a.x.y", DATA, "Missing property in path $['a']['x']"),
        ("$.a.b[5]", DATA, "No results for path: $['a']['b'][5]"),
        ("$.a.b[5].c", DATA, "No results for path: $['a']['b'][5]['c']"),
        ("$.a.b.c", DATA, "No results for path: $['a']['b']['c']"),
        ("$.a[0]", DATA, "No results for path: $['a'][0]"),
        ("$['k y'].z", DATA, "No results for path: $['k y']['z']"),
        ("$.x", "text", "No results for path: $['x']"),
        ("$[0]", {"0": 1}, "No results for path: $[0]"),
        ("$$.Task.Token", None, "Missing property in path $$['Task']"),
        ("$$.Execution.Name", None, "No results for path: $$['Execution']['Name']"),
        ("$v.b", None, "No results for path: $v['b']"),
        ("$missing", None, "The variable '$missing' is not defined"),
        ("$missing.a", None, "The variable '$missing' is not defined"),
        ("$.a.b.length()", DATA, "Function 'length()' is not supported in paths"),
        ("$.items[*].sum()", DATA, "Function 'sum()' is not supported in paths"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_definite_path_without_match_explains_like_jayway(
    text: str, data: JSON, reason: str
) -> None:
    path = compile_path(text)
    with pytest.raises(PathNoMatch) as caught:
        path.find(data, SCOPE)
    assert caught.value.reason == reason
    assert caught.value.path == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.b", "must start with '$'"),
        ("", "must start with '$'"),
        ("$.", "is not valid JSONPath"),
        ("$.a[", "is not valid JSONPath"),
        ("$..", "is not valid JSONPath"),
        ("$[?(", "is not valid JSONPath"),
        ("$.a b", "is not valid JSONPath"),
    ],
    ids=lambda value: value or "empty",
)
def test_malformed_paths_are_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=re.escape(message)):
        compile_path(text)


def test_non_string_path_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError, match="must be a string"):
        compile_path(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("$", ()),
        ("$.a.b", ("a", "b")),
        ("$['a b'][0]", ("a b", 0)),
        ("$.a[0].b", ("a", 0, "b")),
        ("$$.Execution.Input", ("Execution", "Input")),
        ("$var.x", ("x",)),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_reference_paths_compile_to_steps(text: str, steps: tuple[str | int, ...]) -> None:
    assert compile_reference_path(text).steps == steps


@pytest.mark.parametrize(
    "text",
    [
        "$.a[*]",
        "$..a",
        "$.a[1:2]",
        "$.a[?(@.b)]",
        "$.*",
        "$.a['b','c']",
        "$.a[0,1]",
        "$.a.length()",
    ],
)
def test_reference_paths_reject_indefinite_steps(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="must select a single node"):
        compile_reference_path(text)


def test_render_steps_is_jaywayish() -> None:
    assert render_steps(("a", 0, "b c")) == "$['a'][0]['b c']"
    assert render_steps((), "$$") == "$$"


# ---------------------------------------------------------------------------------------------
# set_reference_path
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text", "value", "expected"),
    [
        ({"a": 1}, "$", "r", "r"),
        ({"a": 1}, "$.b", "r", {"a": 1, "b": "r"}),
        ({"a": 1, "b": 2}, "$.a", "r", {"a": "r", "b": 2}),
        ({"a": 1}, "$.x.y.z", [1], {"a": 1, "x": {"y": {"z": [1]}}}),
        ({"a": {"k": 1}}, "$.a.b", None, {"a": {"k": 1, "b": None}}),
        ({"a": [1, 2]}, "$.a[1]", "r", {"a": [1, "r"]}),
        ({"a": [1, {"q": 0}]}, "$.a[-1].w", "r", {"a": [1, {"q": 0, "w": "r"}]}),
        ({}, "$['a b']", 1, {"a b": 1}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_set_reference_path(data: JSON, text: str, value: JSON, expected: JSON) -> None:
    before = copy.deepcopy(data)
    assert set_reference_path(data, compile_reference_path(text), value) == expected
    assert data == before  # never mutated


def test_set_reference_path_keeps_key_order_and_shares_untouched_subtrees() -> None:
    untouched: JSON = {"deep": [1, 2]}
    data: JSON = {"first": untouched, "second": {"x": 1}, "third": 3}
    out = set_reference_path(data, compile_reference_path("$.second.y"), 2)
    assert isinstance(out, dict)
    assert list(out) == ["first", "second", "third"]
    assert out["first"] is untouched
    assert out["second"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("text", "$.a"),
        ({"a": 1}, "$.a.b"),
        ({"a": [1]}, "$.a.b"),
        ({"a": None}, "$.a.b"),
        ({"a": [1]}, "$.a[3]"),
        ({"a": {"0": 1}}, "$.a[0]"),
        ({}, "$.a[0]"),
        ({}, "$$.Execution"),
        ({}, "$v.a"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_set_reference_path_failures(data: JSON, text: str) -> None:
    with pytest.raises(PathNoMatch):
        set_reference_path(data, compile_reference_path(text), 1)


def test_set_reference_path_rejects_indefinite_paths() -> None:
    with pytest.raises(PathNoMatch):
        set_reference_path({}, compile_path("$.a[*]"), 1)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

KEYS = st.text(alphabet="abcXYZ_09 -", min_size=1, max_size=6)
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text()
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=25,
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@st.composite
def document_and_walk(draw: st.DrawFn) -> tuple[JSON, list[str | int], JSON]:
    """A document, a walk of steps that exist in it, and the value the walk reaches."""
    document = draw(DOCUMENTS)
    steps: list[str | int] = []
    current = document
    while draw(st.booleans()):
        if isinstance(current, dict) and current:
            key = draw(st.sampled_from(sorted(current)))
            steps.append(key)
            current = current[key]
        elif isinstance(current, list) and current:
            index = draw(st.integers(0, len(current) - 1))
            steps.append(index)
            current = current[index]
        else:
            break
    return document, steps, current


def render(steps: list[str | int], dotted: bool) -> str:
    parts = ["$"]
    for step in steps:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif dotted and IDENTIFIER.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"['{step}']")
    return "".join(parts)


@settings(max_examples=300)
@given(document_and_walk(), st.booleans())
def test_find_returns_the_value_reached_by_walking(
    case: tuple[JSON, list[str | int], JSON], dotted: bool
) -> None:
    document, steps, reached = case
    path = compile_path(render(steps, dotted))
    assert path.definite
    assert path.steps == tuple(steps)
    assert path.find(document, SCOPE) is reached


@settings(max_examples=200)
@given(document_and_walk())
def test_fast_path_agrees_with_jsonpath_ng(case: tuple[JSON, list[str | int], JSON]) -> None:
    from jsonpath_ng.ext.parser import parse

    document, steps, reached = case
    text = render(steps, dotted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matches = [match.value for match in parse(text).find(document)]
    assert matches == [reached]
    assert compile_path(text).find(document, SCOPE) == matches[0]


@settings(max_examples=200)
@given(document_and_walk(), st.lists(KEYS, min_size=1, max_size=3), SCALARS)
def test_set_then_find_returns_the_value(
    case: tuple[JSON, list[str | int], JSON], extra: list[str], value: JSON
) -> None:
    document, steps, reached = case
    before = copy.deepcopy(document)
    # Write fresh keys below an existing object ("§" is outside KEYS), or replace a node.
    fresh: list[str | int] = [f"§{key}" for key in extra]
    target = steps + fresh if isinstance(reached, dict) else steps
    path = compile_reference_path(render(target, dotted=True))
    out = set_reference_path(document, path, value)
    assert path.find(out, SCOPE) == value
    assert document == before


@settings(max_examples=300)
@given(st.text(alphabet="$.[]*?@()'\"ab01:- =<>,!&|", max_size=14), DOCUMENTS)
def test_only_path_errors_escape(text: str, document: JSON) -> None:
    try:
        path = compile_path(text)
    except ExpressionSyntaxError:
        return
    with contextlib.suppress(PathNoMatch):
        path.find(document, SCOPE)
    if path.definite and path.root == "data":
        with contextlib.suppress(PathNoMatch):
            set_reference_path(document, path, 1)
