"""Choice Rules in JSONPath mode: compiled once into predicates, evaluated on the hot path.

Owns: the table of every JSONPath Choice comparison operator (`StringEquals` ...
`IsTimestamp`, each `...Path` variant), compiling a Choice Rule (`Variable` + operator, `And`,
`Or`, `Not`) into a frozen `ChoiceRule`, and evaluating it against state data with AWS's
semantics. Must never: pick the next state or apply `Assign` (the interpreter does, from the
index `first_match` returns), evaluate the JSONata `Condition` field, or parse anything while an
execution runs (paths, operands, timestamps and StringMatches patterns are all prepared here at
compile time).

AWS semantics (recorded cases `localstack/choice_operators/*`, AWS developer guide "Choice
workflow state"):
- A comparison whose value has the wrong type is simply false, never an error: StringEquals on
  a number, NumericEquals on a numeric string, BooleanEquals on 0/1, Timestamp* on a string
  that is not a timestamp. Booleans are not numbers (`true` NumericEquals 1 is false); 1 and
  1.0 are equal. The same holds for the value a `...Path` operand selects.
- A `Variable` that selects nothing fails the state with `States.Runtime`, cause "Invalid path
  '<Variable>': The choice state's condition path references an invalid value." (the
  interpreter prefixes the "An error occurred while executing the state ..." part), except
  under `IsPresent`, which is then simply false (or true for `IsPresent: false`). A `...Path`
  operand that selects nothing fails the same way, naming the operand path (no recorded case;
  that wording is what third-party suites checked against AWS expect).
- `And`/`Or` evaluate their rules in order and stop at the first deciding one, so
  `And: [IsPresent, BooleanEquals]` guards a missing field (the pattern AWS's docs recommend).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias, TypeGuard

from engine.definition.paths import Path, PathNoMatch, compile_reference_path
from engine.definition.scope import Scope
from engine.definition.timestamps import timestamp_key
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON

__all__ = [
    "OPERATORS",
    "And",
    "ChoiceRule",
    "Comparison",
    "Not",
    "Or",
    "compile_choice_rule",
    "compile_choices",
    "first_match",
]

Predicate: TypeAlias = Callable[[JSON], bool]
"""A test on the value `Variable` selects, with the operand already bound."""

Binder: TypeAlias = Callable[[JSON], Predicate | None]
"""Binds an operand to its operator's test; None when the operand has the wrong type."""

# Fields a Choice Rule may carry besides its condition; the interpreter and the validator own
# them (`Next` on top-level rules, `Assign` on top-level rules, `Comment` anywhere).
_NON_CONDITION_FIELDS = frozenset({"Next", "Comment", "Assign", "Output"})
_BOOLEAN_FIELDS = ("And", "Or", "Not")


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


def _invalid_path(path: Path) -> StatesError:
    return StatesError(
        STATES_RUNTIME,
        f"Invalid path '{path.text}': The choice state's condition path references an invalid "
        "value.",
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """`Variable` compared by one operator with a literal operand or a `...Path` operand.

    `test` is the operator bound to the literal operand at compile time (None for a `...Path`
    operator, whose operand is selected and bound per evaluation with `bind`). `on_missing` is
    the result when `Variable` selects nothing (IsPresent only; None means that is an error).
    """

    operator: str
    variable: Path
    operand: JSON
    operand_path: Path | None = None
    test: Predicate | None = field(default=None, repr=False, compare=False)
    bind: Binder = field(default=lambda _: None, repr=False, compare=False)
    on_missing: bool | None = None

    def matches(self, data: JSON, scope: Scope) -> bool:
        """Whether the comparison holds; raises `StatesError` (States.Runtime) on a bad path."""
        try:
            value = self.variable.find(data, scope)
        except PathNoMatch:
            if self.on_missing is None:
                raise _invalid_path(self.variable) from None
            return self.on_missing
        test = self.test
        if test is None:
            operand_path = self.operand_path
            assert operand_path is not None  # compile_choice_rule sets one of test/operand_path
            try:
                operand = operand_path.find(data, scope)
            except PathNoMatch:
                raise _invalid_path(operand_path) from None
            test = self.bind(operand)
            if test is None:  # the operand path selected a value of the wrong type
                return False
        return test(value)


@dataclass(frozen=True, slots=True)
class And:
    """True when every rule is; stops at the first false one."""

    rules: tuple[ChoiceRule, ...]

    def matches(self, data: JSON, scope: Scope) -> bool:
        """Whether every rule matches, evaluated in order up to the first that does not."""
        return all(rule.matches(data, scope) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class Or:
    """True when any rule is; stops at the first true one."""

    rules: tuple[ChoiceRule, ...]

    def matches(self, data: JSON, scope: Scope) -> bool:
        """Whether some rule matches, evaluated in order up to the first that does."""
        return any(rule.matches(data, scope) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class Not:
    """True when its rule is false."""

    rule: ChoiceRule

    def matches(self, data: JSON, scope: Scope) -> bool:
        """The negation of the inner rule (whose errors propagate)."""
        return not self.rule.matches(data, scope)


ChoiceRule: TypeAlias = Comparison | And | Or | Not


def first_match(rules: Sequence[ChoiceRule], data: JSON, scope: Scope) -> int | None:
    """Index of the first rule that matches `data`, or None (the Choice state's Default).

    Rules after the first match are not evaluated, so their path errors cannot fire.
    """
    for index, rule in enumerate(rules):
        if rule.matches(data, scope):
            return index
    return None


# ---------------------------------------------------------------------------------------------
# The operator table: name -> (what the operand must be, binder)
# ---------------------------------------------------------------------------------------------


def _is_number(value: JSON) -> TypeGuard[int | float]:
    kind = type(value)
    return kind is int or kind is float


def _string(compare: Callable[[str, str], bool]) -> Binder:
    def bind(operand: JSON) -> Predicate | None:
        if type(operand) is not str:
            return None
        if compare is operator.eq:
            # Fast path: a str equals only an equal str (never a number, bool, list, ...).
            return lambda value: value == operand
        return lambda value: type(value) is str and compare(value, operand)

    return bind


def _numeric(compare: Callable[[float, float], bool]) -> Binder:
    def bind(operand: JSON) -> Predicate | None:
        if not _is_number(operand):
            return None
        number = operand
        return lambda value: _is_number(value) and compare(value, number)

    return bind


def _boolean(operand: JSON) -> Predicate | None:
    if type(operand) is not bool:
        return None
    # `is`: JSON booleans are the two singletons, and `1 == True` must not match.
    return lambda value: value is operand


def _timestamp(compare: Callable[[tuple[int, int], tuple[int, int]], bool]) -> Binder:
    def bind(operand: JSON) -> Predicate | None:
        if type(operand) is not str:
            return None
        bound = timestamp_key(operand)
        if bound is None:
            return None

        def test(value: JSON) -> bool:
            if type(value) is not str:
                return False
            key = timestamp_key(value)
            return key is not None and compare(key, bound)

        return test

    return bind


def _glob(pattern: str) -> Callable[[str], bool]:
    """StringMatches: `*` matches any run of characters; `\\*` and `\\\\` are a literal `*`
    and `\\`; nothing else is special (AWS docs, "Choice Rules"). Any other backslash is kept
    as a literal backslash. No backtracking: the literal pieces between stars are placed
    leftmost-first, which is optimal when `*` is the only wildcard.
    """
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            current.append(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    pieces.append("".join(current))
    if len(pieces) == 1:
        literal = pieces[0]
        return lambda text: text == literal
    head, middle, tail = pieces[0], tuple(pieces[1:-1]), pieces[-1]
    fixed = len(head) + len(tail)

    def match(text: str) -> bool:
        if len(text) < fixed or not text.startswith(head) or not text.endswith(tail):
            return False
        position, end = len(head), len(text) - len(tail)
        for piece in middle:
            found = text.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    return match


def _string_matches(operand: JSON) -> Predicate | None:
    if type(operand) is not str:
        return None
    match = _glob(operand)
    return lambda value: type(value) is str and match(value)


def _type_test(check: Predicate) -> Binder:
    def bind(operand: JSON) -> Predicate | None:
        if type(operand) is not bool:
            return None
        if operand:
            return check
        return lambda value: not check(value)

    return bind


def _is_timestamp(value: JSON) -> bool:
    return type(value) is str and timestamp_key(value) is not None


def _is_present(operand: JSON) -> Predicate | None:
    # Only reached when Variable selected something; `on_missing` covers the other case.
    if type(operand) is not bool:
        return None
    return lambda _value: operand is True


@dataclass(frozen=True, slots=True)
class _Operator:
    expects: str  # what the literal operand must be, for the compile-time message
    bind: Binder
    has_path_variant: bool = True


_STRING = "a string"
_NUMBER = "a number"
_BOOLEAN = "true or false"
_TIMESTAMP = "a timestamp string such as '2016-03-14T01:59:00Z'"

OPERATORS: Mapping[str, _Operator] = {
    "StringEquals": _Operator(_STRING, _string(operator.eq)),
    "StringLessThan": _Operator(_STRING, _string(operator.lt)),
    "StringGreaterThan": _Operator(_STRING, _string(operator.gt)),
    "StringLessThanEquals": _Operator(_STRING, _string(operator.le)),
    "StringGreaterThanEquals": _Operator(_STRING, _string(operator.ge)),
    "StringMatches": _Operator(_STRING, _string_matches, has_path_variant=False),
    "NumericEquals": _Operator(_NUMBER, _numeric(operator.eq)),
    "NumericLessThan": _Operator(_NUMBER, _numeric(operator.lt)),
    "NumericGreaterThan": _Operator(_NUMBER, _numeric(operator.gt)),
    "NumericLessThanEquals": _Operator(_NUMBER, _numeric(operator.le)),
    "NumericGreaterThanEquals": _Operator(_NUMBER, _numeric(operator.ge)),
    "BooleanEquals": _Operator(_BOOLEAN, _boolean),
    "TimestampEquals": _Operator(_TIMESTAMP, _timestamp(operator.eq)),
    "TimestampLessThan": _Operator(_TIMESTAMP, _timestamp(operator.lt)),
    "TimestampGreaterThan": _Operator(_TIMESTAMP, _timestamp(operator.gt)),
    "TimestampLessThanEquals": _Operator(_TIMESTAMP, _timestamp(operator.le)),
    "TimestampGreaterThanEquals": _Operator(_TIMESTAMP, _timestamp(operator.ge)),
    "IsNull": _Operator(_BOOLEAN, _type_test(lambda value: value is None), False),
    "IsPresent": _Operator(_BOOLEAN, _is_present, False),
    "IsNumeric": _Operator(_BOOLEAN, _type_test(_is_number), False),
    "IsString": _Operator(_BOOLEAN, _type_test(lambda value: type(value) is str), False),
    "IsBoolean": _Operator(_BOOLEAN, _type_test(lambda value: type(value) is bool), False),
    "IsTimestamp": _Operator(_BOOLEAN, _type_test(_is_timestamp), False),
}
"""Every JSONPath comparison operator, without the `Path` suffix of its `...Path` variant."""

_COMPARISON_FIELDS: frozenset[str] = frozenset(OPERATORS) | frozenset(
    name + "Path" for name, spec in OPERATORS.items() if spec.has_path_variant
)


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------


def compile_choices(choices: Sequence[Mapping[str, JSON]]) -> tuple[ChoiceRule, ...]:
    """Compile a Choice state's `Choices` array (JSONPath mode), in order, for `first_match`."""
    return tuple(_compile(choice, f"Choices[{index}]") for index, choice in enumerate(choices))


def compile_choice_rule(rule: Mapping[str, JSON]) -> ChoiceRule:
    """Compile one Choice Rule (a `Choices` entry or a nested rule) into a `ChoiceRule`.

    `Next`, `Assign` and `Comment` are left to the caller. Raises `ExpressionSyntaxError` when
    the rule is malformed: no or several conditions, an unknown field, a bad path, an operand
    of the wrong type, an empty `And`/`Or`. The message names the offending field relative to
    the rule (e.g. `And[1].Variable`); the validator adds the location in the definition.
    """
    return _compile(rule, "")


def _fail(where: str, message: str) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(f"{where}: {message}" if where else message)


def _child(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _compile(rule: object, where: str) -> ChoiceRule:
    if not isinstance(rule, Mapping):
        raise _fail(where, f"a Choice Rule must be an object, got {rule!r}")
    if "Condition" in rule:
        raise _fail(
            where,
            "'Condition' is the JSONata form of a Choice Rule; in JSONPath mode write "
            "'Variable' with a comparison operator such as 'StringEquals'",
        )
    boolean = [name for name in _BOOLEAN_FIELDS if name in rule]
    comparisons = [name for name in rule if name in _COMPARISON_FIELDS]
    unknown = [
        name
        for name in rule
        if name not in _COMPARISON_FIELDS
        and name not in _BOOLEAN_FIELDS
        and name not in _NON_CONDITION_FIELDS
        and name != "Variable"
    ]
    if unknown:
        raise _fail(
            where,
            f"unknown field {unknown[0]!r} in a Choice Rule; use 'Variable' with one of "
            f"{', '.join(sorted(_COMPARISON_FIELDS))}, or 'And', 'Or', 'Not'",
        )
    if len(boolean) + len(comparisons) != 1:
        found = boolean + comparisons
        detail = f"found {', '.join(found)}" if found else "found none"
        raise _fail(
            where,
            "a Choice Rule needs exactly one condition: a comparison operator (with "
            f"'Variable') or one of 'And', 'Or', 'Not'; {detail}",
        )
    if boolean:
        name = boolean[0]
        if "Variable" in rule:
            raise _fail(where, f"'Variable' cannot be combined with {name!r}")
        return _compile_boolean(name, rule[name], _child(where, name))
    return _compile_comparison(rule, comparisons[0], where)


def _compile_boolean(name: str, value: object, where: str) -> ChoiceRule:
    if name == "Not":
        return Not(_compile(value, where))
    if not isinstance(value, list) or not value:
        raise _fail(where, f"'{name}' must be a non-empty array of Choice Rules")
    rules = tuple(_compile(item, f"{where}[{index}]") for index, item in enumerate(value))
    return And(rules) if name == "And" else Or(rules)


def _compile_path(text: object, where: str) -> Path:
    if not isinstance(text, str):
        raise _fail(where, f"must be a reference path string such as '$.field', got {text!r}")
    try:
        return compile_reference_path(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(f"{where}: {exc.message}", exc.position) from None


def _compile_comparison(rule: Mapping[str, JSON], name: str, where: str) -> Comparison:
    if "Variable" not in rule:
        raise _fail(where, f"{name!r} needs a 'Variable' field naming the value to compare")
    variable = _compile_path(rule["Variable"], _child(where, "Variable"))
    operand = rule[name]
    if name in OPERATORS:
        spec = OPERATORS[name]
        test = spec.bind(operand)
        if test is None:
            raise _fail(_child(where, name), f"must be {spec.expects}, got {operand!r}")
        on_missing = (not operand) if name == "IsPresent" else None
        return Comparison(name, variable, operand, test=test, on_missing=on_missing)
    spec = OPERATORS[name.removesuffix("Path")]
    operand_path = _compile_path(operand, _child(where, name))
    return Comparison(name, variable, operand, operand_path=operand_path, bind=spec.bind)
