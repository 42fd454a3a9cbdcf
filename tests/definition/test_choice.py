"""Choice Rules (JSONPath): every operator against exact expectations, recorded AWS cases as
data, errors and their causes, compile-time rejections, and hypothesis invariants."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.choice import (
    OPERATORS,
    And,
    ChoiceRule,
    Comparison,
    Not,
    Or,
    compile_choice_rule,
    compile_choices,
    first_match,
)
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON

SCOPE = Scope()


def rule(**fields: JSON) -> dict[str, JSON]:
    return {"Variable": "$.v", **fields}


def evaluate(rule_: dict[str, JSON], data: JSON, scope: Scope = SCOPE) -> bool:
    return compile_choice_rule(rule_).matches(data, scope)


# ---------------------------------------------------------------------------------------------
# Per-operator tables: (id, rule, input, expected)
# ---------------------------------------------------------------------------------------------

TABLE: list[tuple[str, dict[str, JSON], JSON, bool]] = [
    # String comparisons: only strings compare; ordering is lexicographic.
    ("StringEquals/equal", rule(StringEquals="a"), {"v": "a"}, True),
    ("StringEquals/differs", rule(StringEquals="a"), {"v": "b"}, False),
    ("StringEquals/number", rule(StringEquals="1"), {"v": 1}, False),
    ("StringEquals/null", rule(StringEquals="null"), {"v": None}, False),
    ("StringEquals/bool", rule(StringEquals="true"), {"v": True}, False),
    ("StringEquals/list", rule(StringEquals="a"), {"v": ["a"]}, False),
    ("StringEquals/whitespace", rule(StringEquals="\t\r\n"), {"v": "\t\n"}, False),
    ("StringEquals/empty", rule(StringEquals=""), {"v": ""}, True),
    ("StringLessThan/shorter", rule(StringLessThan="AB"), {"v": "A"}, True),
    ("StringLessThan/equal", rule(StringLessThan=""), {"v": ""}, False),
    ("StringLessThan/number", rule(StringLessThan="z"), {"v": 1}, False),
    ("StringGreaterThan/longer", rule(StringGreaterThan="A"), {"v": "AB"}, True),
    ("StringGreaterThan/prefix", rule(StringGreaterThan="A "), {"v": "A"}, False),
    ("StringLessThanEquals/equal", rule(StringLessThanEquals="b"), {"v": "b"}, True),
    ("StringLessThanEquals/greater", rule(StringLessThanEquals="b"), {"v": "c"}, False),
    ("StringGreaterThanEquals/equal", rule(StringGreaterThanEquals="b"), {"v": "b"}, True),
    ("StringGreaterThanEquals/less", rule(StringGreaterThanEquals="b"), {"v": "a"}, False),
    ("StringGreaterThanEquals/null", rule(StringGreaterThanEquals=""), {"v": None}, False),
    ("StringEqualsPath/equal", rule(StringEqualsPath="$.w"), {"v": "x", "w": "x"}, True),
    ("StringEqualsPath/operand-number", rule(StringEqualsPath="$.w"), {"v": "1", "w": 1}, False),
    ("StringLessThanPath", rule(StringLessThanPath="$.w"), {"v": "A", "w": "AB"}, True),
    ("StringGreaterThanPath", rule(StringGreaterThanPath="$.w"), {"v": "A", "w": "A "}, False),
    ("StringLessThanEqualsPath", rule(StringLessThanEqualsPath="$.w"), {"v": "", "w": ""}, True),
    (
        "StringGreaterThanEqualsPath",
        rule(StringGreaterThanEqualsPath="$.w"),
        {"v": "AB", "w": "A"},
        True,
    ),
    # StringMatches: '*' is the only wildcard; '\*' and '\\' escape.
    ("StringMatches/prefix", rule(StringMatches="log-*.txt"), {"v": "log-2024.txt"}, True),
    ("StringMatches/empty-run", rule(StringMatches="log-*.txt"), {"v": "log-.txt"}, True),
    ("StringMatches/no-suffix", rule(StringMatches="log-*.txt"), {"v": "log-2024.csv"}, False),
    ("StringMatches/star-only", rule(StringMatches="*"), {"v": ""}, True),
    ("StringMatches/literal", rule(StringMatches="abc"), {"v": "abc"}, True),
    ("StringMatches/literal-longer", rule(StringMatches="abc"), {"v": "abcd"}, False),
    ("StringMatches/many-stars", rule(StringMatches="*a*b*c*"), {"v": "xaybzc"}, True),
    ("StringMatches/order-matters", rule(StringMatches="*a*b*"), {"v": "ba"}, False),
    ("StringMatches/overlap", rule(StringMatches="ab*ba"), {"v": "aba"}, False),
    ("StringMatches/question-literal", rule(StringMatches="a?c"), {"v": "abc"}, False),
    ("StringMatches/question-self", rule(StringMatches="a?c"), {"v": "a?c"}, True),
    ("StringMatches/brackets-literal", rule(StringMatches="[ab]"), {"v": "a"}, False),
    ("StringMatches/escaped-star", rule(StringMatches="a\\*"), {"v": "a*"}, True),
    ("StringMatches/escaped-star-not-wild", rule(StringMatches="a\\*"), {"v": "ab"}, False),
    ("StringMatches/escaped-backslash", rule(StringMatches="a\\\\*"), {"v": "a\\bc"}, True),
    ("StringMatches/escaped-backslash-only", rule(StringMatches="a\\\\"), {"v": "a\\"}, True),
    ("StringMatches/other-backslash-kept", rule(StringMatches="a\\b"), {"v": "a\\b"}, True),
    ("StringMatches/newline", rule(StringMatches="a*b"), {"v": "a\nb"}, True),
    ("StringMatches/number", rule(StringMatches="*"), {"v": 1}, False),
    # Numeric comparisons: ints and floats compare by value; booleans are not numbers.
    ("NumericEquals/int-float", rule(NumericEquals=1), {"v": 1.0}, True),
    ("NumericEquals/float-int", rule(NumericEquals=0.0), {"v": 0}, True),
    ("NumericEquals/differs", rule(NumericEquals=1), {"v": 1.1}, False),
    ("NumericEquals/true-is-not-1", rule(NumericEquals=1), {"v": True}, False),
    ("NumericEquals/false-is-not-0", rule(NumericEquals=0), {"v": False}, False),
    ("NumericEquals/numeric-string", rule(NumericEquals=1), {"v": "1"}, False),
    ("NumericEquals/null", rule(NumericEquals=0), {"v": None}, False),
    ("NumericEquals/big-int", rule(NumericEquals=2**64), {"v": 2**64}, True),
    ("NumericLessThan/less", rule(NumericLessThan=1), {"v": 0}, True),
    ("NumericLessThan/equal", rule(NumericLessThan=0), {"v": 0.0}, False),
    ("NumericLessThan/negative", rule(NumericLessThan=-1.5), {"v": -2}, True),
    ("NumericGreaterThan/greater", rule(NumericGreaterThan=1), {"v": 1.5}, True),
    ("NumericGreaterThan/equal", rule(NumericGreaterThan=0), {"v": 0.0}, False),
    ("NumericLessThanEquals/equal", rule(NumericLessThanEquals=0), {"v": 0.0}, True),
    ("NumericLessThanEquals/greater", rule(NumericLessThanEquals=0), {"v": 1}, False),
    ("NumericGreaterThanEquals/equal", rule(NumericGreaterThanEquals=1), {"v": 1}, True),
    ("NumericGreaterThanEquals/less", rule(NumericGreaterThanEquals=1), {"v": 0}, False),
    ("NumericGreaterThanEquals/string", rule(NumericGreaterThanEquals=0), {"v": "5"}, False),
    ("NumericEqualsPath/int-float", rule(NumericEqualsPath="$.w"), {"v": 0, "w": 0.0}, True),
    ("NumericEqualsPath/true-vs-1", rule(NumericEqualsPath="$.w"), {"v": True, "w": 1}, False),
    ("NumericEqualsPath/1-vs-true", rule(NumericEqualsPath="$.w"), {"v": 1, "w": True}, False),
    (
        "NumericEqualsPath/operand-object",
        rule(NumericEqualsPath="$.w"),
        {"v": 7, "w": {"value": 7}},
        False,
    ),
    ("NumericLessThanPath", rule(NumericLessThanPath="$.w"), {"v": 0, "w": 1}, True),
    ("NumericGreaterThanPath", rule(NumericGreaterThanPath="$.w"), {"v": 1, "w": 0}, True),
    ("NumericLessThanEqualsPath", rule(NumericLessThanEqualsPath="$.w"), {"v": 1, "w": 1}, True),
    (
        "NumericGreaterThanEqualsPath",
        rule(NumericGreaterThanEqualsPath="$.w"),
        {"v": 0, "w": 1},
        False,
    ),
    # BooleanEquals: only booleans; 0/1 and "true" are not booleans.
    ("BooleanEquals/true", rule(BooleanEquals=True), {"v": True}, True),
    ("BooleanEquals/false", rule(BooleanEquals=False), {"v": False}, True),
    ("BooleanEquals/mismatch", rule(BooleanEquals=True), {"v": False}, False),
    ("BooleanEquals/one", rule(BooleanEquals=True), {"v": 1}, False),
    ("BooleanEquals/zero", rule(BooleanEquals=False), {"v": 0}, False),
    ("BooleanEquals/string", rule(BooleanEquals=True), {"v": "true"}, False),
    ("BooleanEquals/null", rule(BooleanEquals=False), {"v": None}, False),
    ("BooleanEqualsPath/true", rule(BooleanEqualsPath="$.w"), {"v": True, "w": True}, True),
    ("BooleanEqualsPath/mismatch", rule(BooleanEqualsPath="$.w"), {"v": False, "w": True}, False),
    ("BooleanEqualsPath/operand-1", rule(BooleanEqualsPath="$.w"), {"v": True, "w": 1}, False),
    # Timestamps compare instants; non-timestamps are false.
    (
        "TimestampEquals/same",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampEquals/same-instant-other-offset",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T20:00:55+01:00"},
        True,
    ),
    (
        "TimestampEquals/fraction-zero",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:55.000Z"},
        True,
    ),
    (
        "TimestampEquals/nanosecond-apart",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:55.000000001Z"},
        False,
    ),
    (
        "TimestampEquals/no-offset",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:55"},
        False,
    ),
    (
        "TimestampEquals/python-format",
        rule(TimestampEquals="2012-10-09T19:00:55Z"),
        {"v": "2023-02-24 12:15:56.832957"},
        False,
    ),
    ("TimestampEquals/number", rule(TimestampEquals="2012-10-09T19:00:55Z"), {"v": 1}, False),
    (
        "TimestampLessThan/earlier",
        rule(TimestampLessThan="2012-10-09T19:00:56Z"),
        {"v": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampLessThan/offset-later",
        rule(TimestampLessThan="2012-10-09T19:00:56Z"),
        {"v": "2012-10-09T19:00:55-01:00"},
        False,
    ),
    (
        "TimestampGreaterThan/later",
        rule(TimestampGreaterThan="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:56Z"},
        True,
    ),
    (
        "TimestampLessThanEquals/equal",
        rule(TimestampLessThanEquals="2012-10-09T19:00:55Z"),
        {"v": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampGreaterThanEquals/earlier",
        rule(TimestampGreaterThanEquals="2012-10-09T19:00:56Z"),
        {"v": "2012-10-09T19:00:55Z"},
        False,
    ),
    (
        "TimestampEqualsPath/equal",
        rule(TimestampEqualsPath="$.w"),
        {"v": "2012-10-09T19:00:55Z", "w": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampLessThanPath/operand-not-timestamp",
        rule(TimestampLessThanPath="$.w"),
        {"v": "2012-10-09T19:00:55Z", "w": "tomorrow"},
        False,
    ),
    (
        "TimestampGreaterThanPath",
        rule(TimestampGreaterThanPath="$.w"),
        {"v": "2012-10-09T19:00:56Z", "w": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampLessThanEqualsPath",
        rule(TimestampLessThanEqualsPath="$.w"),
        {"v": "2012-10-09T19:00:55Z", "w": "2012-10-09T19:00:55Z"},
        True,
    ),
    (
        "TimestampGreaterThanEqualsPath",
        rule(TimestampGreaterThanEqualsPath="$.w"),
        {"v": "2012-10-09T19:00:54Z", "w": "2012-10-09T19:00:55Z"},
        False,
    ),
    # Type tests.
    ("IsNull/null", rule(IsNull=True), {"v": None}, True),
    ("IsNull/false-on-null", rule(IsNull=False), {"v": None}, False),
    ("IsNull/empty-string", rule(IsNull=True), {"v": ""}, False),
    ("IsNull/false-on-zero", rule(IsNull=False), {"v": 0}, True),
    ("IsPresent/null-is-present", rule(IsPresent=True), {"v": None}, True),
    ("IsPresent/missing", rule(IsPresent=True), {}, False),
    ("IsPresent/false-missing", rule(IsPresent=False), {}, True),
    ("IsPresent/false-present", rule(IsPresent=False), {"v": 0}, False),
    ("IsPresent/missing-parent", {"Variable": "$.a.b.c", "IsPresent": True}, {"a": 1}, False),
    ("IsPresent/missing-index", {"Variable": "$.a[3]", "IsPresent": True}, {"a": [1]}, False),
    ("IsNumeric/int", rule(IsNumeric=True), {"v": 0}, True),
    ("IsNumeric/float", rule(IsNumeric=True), {"v": 0.0}, True),
    ("IsNumeric/bool", rule(IsNumeric=True), {"v": False}, False),
    ("IsNumeric/numeric-string", rule(IsNumeric=True), {"v": "1"}, False),
    ("IsNumeric/false-on-list", rule(IsNumeric=False), {"v": []}, True),
    ("IsString/string", rule(IsString=True), {"v": ""}, True),
    ("IsString/number", rule(IsString=True), {"v": 1.1}, False),
    ("IsString/false-on-object", rule(IsString=False), {"v": {}}, True),
    ("IsBoolean/false", rule(IsBoolean=True), {"v": False}, True),
    ("IsBoolean/zero", rule(IsBoolean=True), {"v": 0}, False),
    ("IsBoolean/false-on-bool", rule(IsBoolean=False), {"v": False}, False),
    ("IsTimestamp/z", rule(IsTimestamp=True), {"v": "2016-03-14T01:59:00Z"}, True),
    ("IsTimestamp/offset", rule(IsTimestamp=True), {"v": "2012-10-09T19:00:55+01:00"}, True),
    ("IsTimestamp/no-offset", rule(IsTimestamp=True), {"v": "2012-10-09T19:00:55"}, False),
    ("IsTimestamp/date", rule(IsTimestamp=True), {"v": "2023-02-24"}, False),
    ("IsTimestamp/number", rule(IsTimestamp=True), {"v": 1}, False),
    ("IsTimestamp/false-on-text", rule(IsTimestamp=False), {"v": "HelloWorld"}, True),
    # Paths: the whole input, indexes, quoted keys.
    ("Variable/root", {"Variable": "$", "StringEquals": "x"}, "x", True),
    ("Variable/index", {"Variable": "$.a[1]", "NumericEquals": 2}, {"a": [1, 2]}, True),
    ("Variable/quoted", {"Variable": "$['a b']", "BooleanEquals": True}, {"a b": True}, True),
    # Boolean combinators.
    (
        "And/all",
        {"And": [rule(IsString=True), rule(StringEquals="a")], "Next": "X"},
        {"v": "a"},
        True,
    ),
    ("And/one-false", {"And": [rule(IsString=True), rule(StringEquals="b")]}, {"v": "a"}, False),
    ("Or/one", {"Or": [rule(IsNumeric=True), rule(StringEquals="a")]}, {"v": "a"}, True),
    ("Or/none", {"Or": [rule(IsNumeric=True), rule(StringEquals="b")]}, {"v": "a"}, False),
    ("Not/true", {"Not": rule(StringEquals="b")}, {"v": "a"}, True),
    ("Not/false", {"Not": rule(StringEquals="a")}, {"v": "a"}, False),
    ("Not/Not", {"Not": {"Not": rule(StringEquals="a")}}, {"v": "a"}, True),
    (
        "And/guards-missing",
        {"And": [rule(IsPresent=True), rule(BooleanEquals=True)]},
        {},
        False,
    ),
    ("Or/stops-at-true", {"Or": [rule(IsPresent=False), rule(BooleanEquals=True)]}, {}, True),
    (
        "nested",
        {
            "Or": [
                {"And": [rule(NumericGreaterThanEquals=20), rule(NumericLessThan=30)]},
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}},
            ]
        },
        {"type": "Private", "v": 22},
        True,
    ),
]


@pytest.mark.parametrize(
    ("rule_", "data", "expected"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_operator_table(rule_: dict[str, JSON], data: JSON, expected: bool) -> None:
    assert evaluate(rule_, data) is expected


def test_table_covers_every_operator() -> None:
    used = {name for _, r, _, _ in TABLE for name in _operators_in(r)}
    every = set(OPERATORS) | {n + "Path" for n, s in OPERATORS.items() if s.has_path_variant}
    assert every - used == set()
    assert len(every) == 39  # 24 operators, 15 of them with a ...Path variant


def _operators_in(rule_: JSON) -> set[str]:
    if isinstance(rule_, list):
        return set().union(*(_operators_in(item) for item in rule_))
    if not isinstance(rule_, dict):
        return set()
    found = {k for k in rule_ if k not in {"Variable", "Next", "And", "Or", "Not"}}
    for key in ("And", "Or", "Not"):
        if key in rule_:
            found |= _operators_in(rule_[key])
    return found


# ---------------------------------------------------------------------------------------------
# Context object and variables
# ---------------------------------------------------------------------------------------------


def test_context_and_variable_paths() -> None:
    scope = Scope(
        context={"Execution": {"Name": "run-1"}},
        variables={"guess": 7, "cfg": {"mode": "fast"}},
    )
    assert evaluate({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}, scope)
    assert evaluate({"Variable": "$guess", "NumericEquals": 7}, {}, scope)
    assert evaluate({"Variable": "$cfg.mode", "StringEqualsPath": "$.m"}, {"m": "fast"}, scope)
    assert evaluate({"Variable": "$.n", "NumericLessThanPath": "$guess"}, {"n": 6}, scope)
    assert not evaluate({"Variable": "$nope", "IsPresent": True}, {}, scope)
    assert not evaluate({"Variable": "$$.Execution.Missing", "IsPresent": True}, {}, scope)


# ---------------------------------------------------------------------------------------------
# Runtime errors: exact error and cause
# ---------------------------------------------------------------------------------------------

ERRORS: list[tuple[str, dict[str, JSON], JSON, str]] = [
    ("missing-variable", rule(StringEquals="a"), {}, "$.v"),
    ("missing-variable-IsNull", rule(IsNull=True), {}, "$.v"),
    ("missing-variable-IsNull-false", rule(IsNull=False), {}, "$.v"),
    ("missing-variable-IsString", rule(IsString=False), {}, "$.v"),
    ("missing-deep", {"Variable": "$.a.b", "NumericEquals": 1}, {"a": {}}, "$.a.b"),
    ("not-an-object", {"Variable": "$.a.b", "NumericEquals": 1}, {"a": "text"}, "$.a.b"),
    ("index-out-of-range", {"Variable": "$.a[2]", "NumericEquals": 1}, {"a": [1]}, "$.a[2]"),
    ("missing-operand-path", rule(NumericEqualsPath="$.w"), {"v": 1}, "$.w"),
    ("missing-both-variable-first", rule(StringEqualsPath="$.w"), {}, "$.v"),
    ("undefined-variable", {"Variable": "$nope", "StringEquals": "a"}, {}, "$nope"),
    ("inside-Not", {"Not": rule(BooleanEquals=True)}, {}, "$.v"),
    ("inside-And", {"And": [rule(IsPresent=False), rule(BooleanEquals=True)]}, {}, "$.v"),
    ("inside-Or", {"Or": [rule(IsPresent=True), rule(BooleanEquals=True)]}, {}, "$.v"),
]


@pytest.mark.parametrize(
    ("rule_", "data", "path"), [t[1:] for t in ERRORS], ids=[t[0] for t in ERRORS]
)
def test_runtime_errors(rule_: dict[str, JSON], data: JSON, path: str) -> None:
    with pytest.raises(StatesError) as info:
        evaluate(rule_, data)
    assert info.value.error == STATES_RUNTIME
    # AWS: "Invalid path '$.x': The choice state's condition path references an invalid value."
    # (the interpreter prefixes "An error occurred while executing the state ...").
    assert info.value.cause == (
        f"Invalid path '{path}': The choice state's condition path references an invalid value."
    )


def test_first_match_stops_at_first() -> None:
    rules = compile_choices(
        [
            {"Variable": "$.n", "NumericLessThan": 0, "Next": "Negative"},
            {"Variable": "$.n", "NumericEquals": 0, "Next": "Zero"},
            {"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "NonNegative"},
            # Never reached for numbers: its missing Variable must not raise.
            {"Variable": "$.missing", "BooleanEquals": True, "Next": "Never"},
        ]
    )
    assert first_match(rules, {"n": -1}, SCOPE) == 0
    assert first_match(rules, {"n": 0}, SCOPE) == 1
    assert first_match(rules, {"n": 5}, SCOPE) == 2
    with pytest.raises(StatesError):
        first_match(rules, {"n": "x"}, SCOPE)
    assert first_match(rules[:3], {"n": "x"}, SCOPE) is None


def test_compiled_shape() -> None:
    compiled = compile_choice_rule({"Not": {"And": [rule(IsNull=True), rule(IsString=True)]}})
    assert isinstance(compiled, Not)
    assert isinstance(compiled.rule, And)
    first = compiled.rule.rules[0]
    assert isinstance(first, Comparison)
    assert (first.operator, first.variable.text, first.operand) == ("IsNull", "$.v", True)
    path_rule = compile_choice_rule(rule(StringEqualsPath="$.w"))
    assert isinstance(path_rule, Comparison)
    assert path_rule.operand_path is not None
    assert path_rule.operand_path.text == "$.w"
    assert path_rule.test is None


# ---------------------------------------------------------------------------------------------
# Compile-time rejections
# ---------------------------------------------------------------------------------------------

MALFORMED: list[tuple[str, object, str]] = [
    ("not-object", ["Variable"], "must be an object"),
    ("no-condition", {"Variable": "$.v", "Next": "X"}, "exactly one condition"),
    ("two-operators", rule(StringEquals="a", StringMatches="a"), "exactly one condition"),
    ("operator-and-And", {**rule(IsNull=True), "And": [rule(IsNull=True)]}, "exactly one"),
    ("unknown-field", rule(StringEquals="a", Foo=1), "unknown field 'Foo'"),
    ("typo-operator", rule(StringEqual="a"), "unknown field 'StringEqual'"),
    ("no-path-variant", rule(StringMatchesPath="$.w"), "unknown field 'StringMatchesPath'"),
    ("IsNullPath", rule(IsNullPath="$.w"), "unknown field 'IsNullPath'"),
    ("no-variable", {"StringEquals": "a"}, "needs a 'Variable'"),
    ("variable-not-string", {"Variable": 1, "StringEquals": "a"}, "Variable: must be"),
    ("variable-not-path", {"Variable": "v", "StringEquals": "a"}, "Variable: "),
    ("variable-wildcard", {"Variable": "$.a[*]", "StringEquals": "a"}, "single node"),
    (
        "variable-intrinsic",
        {"Variable": "States.ArrayContains($.a, 'x')", "BooleanEquals": True},
        "Variable: ",
    ),
    ("string-operand-number", rule(StringEquals=1), "StringEquals: must be a string"),
    ("matches-operand-null", rule(StringMatches=None), "StringMatches: must be a string"),
    ("numeric-operand-string", rule(NumericEquals="1"), "NumericEquals: must be a number"),
    ("numeric-operand-bool", rule(NumericLessThan=True), "must be a number"),
    ("boolean-operand-string", rule(BooleanEquals="true"), "must be true or false"),
    ("timestamp-operand-bad", rule(TimestampEquals="2016-03-14"), "must be a timestamp"),
    ("timestamp-operand-number", rule(TimestampLessThan=0), "must be a timestamp"),
    ("is-operand-string", rule(IsNull="true"), "IsNull: must be true or false"),
    ("IsPresent-operand-number", rule(IsPresent=1), "must be true or false"),
    ("path-operand-not-path", rule(StringEqualsPath="w"), "StringEqualsPath: "),
    ("path-operand-number", rule(NumericEqualsPath=1), "NumericEqualsPath: must be"),
    ("And-empty", {"And": []}, "non-empty array"),
    ("Or-not-list", {"Or": rule(IsNull=True)}, "non-empty array"),
    ("Not-list", {"Not": [rule(IsNull=True)]}, "Not: a Choice Rule must be an object"),
    ("nested-located", {"And": [rule(IsNull=True), {"Or": [{}]}]}, "And[1].Or[0]: "),
    ("And-with-Variable", {"Variable": "$.v", "And": [rule(IsNull=True)]}, "cannot be combined"),
    ("Condition", {"Condition": "{% true %}", "Next": "X"}, "JSONata"),
]


@pytest.mark.parametrize(
    ("rule_", "message"), [t[1:] for t in MALFORMED], ids=[t[0] for t in MALFORMED]
)
def test_malformed_rules(rule_: object, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_choice_rule(cast("dict[str, JSON]", rule_))
    assert message in info.value.message


def test_compile_choices_locates_entry() -> None:
    with pytest.raises(ExpressionSyntaxError, match=r"^Choices\[1\]\.Variable: "):
        compile_choices([rule(IsNull=True), {"Variable": "x", "IsNull": True}])


# ---------------------------------------------------------------------------------------------
# Recorded AWS cases as data: localstack/choice_operators/* (a Choice with one rule that leads
# to ConditionTrue, Default ConditionFalse)
# ---------------------------------------------------------------------------------------------


def _cases_dir() -> Path:
    configured = os.environ.get("ASL_CONFORMANCE_CASES")
    if configured:
        return Path(configured) / "exec"
    return Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases" / "exec"


def _recorded_cases() -> list[tuple[str, JSON, JSON, bool]]:
    directory = _cases_dir()
    if not directory.is_dir():
        return []
    cases = []
    for file in sorted(directory.glob("localstack__choice_operators__*.json")):
        case = json.loads(file.read_text(encoding="utf-8"))
        definition = case["definition"]
        choice = definition["States"][definition["StartAt"]]
        (entry,) = choice["Choices"]
        assert entry["Next"] == "ConditionTrue"
        assert choice["Default"] == "ConditionFalse"
        assert case["expect"]["status"] == "SUCCEEDED"
        branch = case["expect"]["output"]["TestResult.$"]
        cases.append((case["id"], entry, case["input"], branch == "ConditionTrue"))
    return cases


RECORDED = _recorded_cases()


@pytest.mark.skipif(not RECORDED, reason=f"no recorded AWS cases under {_cases_dir()}")
@pytest.mark.parametrize(
    ("entry", "data", "expected"),
    [c[1:] for c in RECORDED] or [({}, None, False)],
    ids=[c[0] for c in RECORDED] or ["none"],
)
def test_recorded_aws_cases(entry: dict[str, JSON], data: JSON, expected: bool) -> None:
    assert evaluate(entry, data) is expected


def test_recorded_cases_present_when_dir_exists() -> None:
    if _cases_dir().is_dir():
        assert len(RECORDED) == 259


# ---------------------------------------------------------------------------------------------
# Hypothesis: random data and random rules
# ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["2016-03-14T01:59:00Z", "2016-03-14T01:59:00+01:00", "2016-03-14"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "v", "w"]), children, max_size=3)
    ),
    max_leaves=8,
)
paths = st.sampled_from(["$", "$.a", "$.b", "$.v", "$.w", "$.a.b", "$.v[0]", "$.missing"])


def _literal_for(name: str) -> st.SearchStrategy[JSON]:
    expects = OPERATORS[name].expects
    if expects == "a string":
        return st.text(max_size=4)
    if expects == "a number":
        return st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False)
    if expects == "true or false":
        return st.booleans()
    return st.sampled_from(["2016-03-14T01:59:00Z", "2016-03-14T00:59:00-01:00"])


@st.composite
def comparisons(draw: st.DrawFn) -> dict[str, JSON]:
    name = draw(st.sampled_from(sorted(OPERATORS)))
    variable = draw(paths)
    if OPERATORS[name].has_path_variant and draw(st.booleans()):
        return {"Variable": variable, name + "Path": draw(paths)}
    return {"Variable": variable, name: draw(_literal_for(name))}


rules = st.recursive(
    comparisons(),
    lambda children: (
        st.builds(lambda rs: {"And": rs}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda rs: {"Or": rs}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda r: {"Not": r}, children)
    ),
    max_leaves=6,
)


def _outcome(compiled: ChoiceRule, data: JSON) -> bool | str:
    try:
        return compiled.matches(data, SCOPE)
    except StatesError as exc:
        assert exc.error == STATES_RUNTIME  # noqa: PT017 - a helper, not the test's assertion
        return exc.cause


@settings(max_examples=300)
@given(rules, json_values)
def test_matches_returns_bool_or_states_error(rule_: dict[str, JSON], data: JSON) -> None:
    outcome = _outcome(compile_choice_rule(rule_), data)
    if not isinstance(outcome, bool):
        assert outcome.startswith("Invalid path '$")
        assert outcome.endswith("The choice state's condition path references an invalid value.")


@given(rules, json_values)
def test_not_negates(rule_: dict[str, JSON], data: JSON) -> None:
    inner = _outcome(compile_choice_rule(rule_), data)
    negated = _outcome(compile_choice_rule({"Not": rule_}), data)
    if isinstance(inner, bool):
        assert negated is (not inner)
    else:
        assert negated == inner


@given(st.lists(rules, min_size=1, max_size=4), json_values)
def test_and_or_agree_with_all_any(rule_list: list[dict[str, JSON]], data: JSON) -> None:
    compiled = [compile_choice_rule(r) for r in rule_list]

    def lazily(combine: Callable[[Iterable[bool]], bool]) -> bool | str:
        try:
            return combine(r.matches(data, SCOPE) for r in compiled)
        except StatesError as exc:
            return exc.cause

    assert _outcome(compile_choice_rule({"And": list(rule_list)}), data) == lazily(all)
    assert _outcome(compile_choice_rule({"Or": list(rule_list)}), data) == lazily(any)


def _reference_glob(pattern: str) -> re.Pattern[str]:
    """StringMatches as a regex, the obvious (backtracking) way, to check the fast matcher."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and pattern[i + 1 : i + 2] in ("*", "\\"):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@given(st.text(alphabet="ab*\\", max_size=8), st.text(alphabet="ab*\\\n", max_size=10))
def test_string_matches_agrees_with_regex(pattern: str, text: str) -> None:
    expected = _reference_glob(pattern).fullmatch(text) is not None
    assert evaluate(rule(StringMatches=pattern), {"v": text}) is expected


def test_or_type() -> None:
    assert isinstance(compile_choice_rule({"Or": [rule(IsNull=True)]}), Or)
