"""Choice state rules: the Choices array, each rule's shape, operator and operand types.

Owns: judging a Choice state's `Choices` (JSONPath rules with `Variable` and one comparison
operator, boolean combinators `And`/`Or`/`Not`; JSONata rules with `Condition`) and yielding
located diagnostics. Must never: evaluate a rule (engine/definition/choice.py compiles them),
or check transitions itself (it calls `check_target`, which records reachability).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.definition.timestamps import timestamp_key
from engine.definition.validate_fields import (
    JSONATA,
    Diagnostics,
    accepts_placeholder,
    check_assign,
    check_jsonata_value,
    check_path,
    check_target,
    error,
    is_jsonata,
    language_hint,
    ptr,
    required,
    unsupported,
)
from engine.values import JSON, type_name

_COMPARISONS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")


def _operators() -> dict[str, str]:
    """Operator name -> the operand kind it takes: 'string', 'number', ..., or 'path'."""
    table: dict[str, str] = {}
    for prefix, kind in (
        ("String", "string"),
        ("Numeric", "number"),
        ("Timestamp", "timestamp"),
    ):
        for comparison in _COMPARISONS:
            table[prefix + comparison] = kind
            table[prefix + comparison + "Path"] = "path"
    table["StringMatches"] = "string"
    table["BooleanEquals"] = "boolean"
    table["BooleanEqualsPath"] = "path"
    for test in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
        table[test] = "boolean"
    return table


OPERATORS = _operators()
COMBINATORS = ("And", "Or", "Not")
_JSONPATH_RULE_FIELDS = frozenset({"Variable", "Next", "Comment", "Assign", *COMBINATORS})
# A JSONata rule may set the state's Output (recorded: localstack/outputdecl/test_output/
# test_output_in_choice.*).
_JSONATA_RULE_FIELDS = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})


def _operand_ok(kind: str, value: JSON) -> bool:
    if kind == "timestamp":
        # choice.py compiles the operand as a timestamp: anything else would pass validation
        # and then fail to load.
        return isinstance(value, str) and timestamp_key(value) is not None
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, bool)


def check_choices(
    value: JSON,
    loc: str,
    query_language: str,
    targets: set[str],
    on_next: Callable[[str], None],
) -> Diagnostics:
    """The `Choices` field: a non-empty array of top-level rules, each with a `Next`."""
    if not isinstance(value, list) or not value:
        yield error("'Choices' must be a non-empty array of Choice Rules", loc)
        return
    for index, rule in enumerate(value):
        at = ptr(loc, index)
        if query_language == JSONATA:
            yield from _check_jsonata_rule(rule, at, targets, on_next)
        else:
            yield from _check_rule(rule, at, top=True, targets=targets, on_next=on_next)


def _check_top_fields(
    rule: dict[str, JSON],
    loc: str,
    query_language: str,
    targets: set[str],
    on_next: Callable[[str], None],
) -> Diagnostics:
    if "Next" not in rule:
        yield required(["Next"], loc)
    else:
        yield from check_target(rule["Next"], ptr(loc, "Next"), targets, on_next)
    if "Assign" in rule:
        yield from check_assign(rule["Assign"], ptr(loc, "Assign"), query_language)


def _check_jsonata_rule(
    rule: JSON, loc: str, targets: set[str], on_next: Callable[[str], None]
) -> Diagnostics:
    if not isinstance(rule, dict):
        yield error(f"A Choice Rule must be an object, not {type_name(rule)}", loc)
        return
    for name in rule:
        if name not in _JSONATA_RULE_FIELDS:
            yield unsupported(name, loc, language_hint(name, JSONATA))
    yield from _check_top_fields(rule, loc, JSONATA, targets, on_next)
    if "Output" in rule:
        yield from check_jsonata_value(rule["Output"], ptr(loc, "Output"), "Output")
    if "Condition" not in rule:
        yield required(["Condition"], loc)
        return
    condition = rule["Condition"]
    at = ptr(loc, "Condition")
    if is_jsonata(condition):
        yield from check_jsonata_value(condition, at, "Condition")
    elif not isinstance(condition, bool):
        yield error(
            "'Condition' must be a JSONata expression '{% ... %}' or a boolean, not "
            f"{type_name(condition)}",
            at,
        )


def _check_rule(
    rule: JSON, loc: str, *, top: bool, targets: set[str], on_next: Callable[[str], None]
) -> Diagnostics:
    if not isinstance(rule, dict):
        yield error(f"A Choice Rule must be an object, not {type_name(rule)}", loc)
        return
    operators: list[str] = []
    combinators: list[str] = []
    for name in rule:
        if name in OPERATORS:
            operators.append(name)
        elif name in COMBINATORS:
            combinators.append(name)
        elif name not in _JSONPATH_RULE_FIELDS:
            yield unsupported(name, loc, language_hint(name, "JSONPath"))
        elif not top and name in ("Next", "Assign"):
            yield error(
                f"'{name}' is only allowed in a top-level Choice Rule, not inside And/Or/Not",
                ptr(loc, name),
            )
    if top:
        yield from _check_top_fields(rule, loc, "JSONPath", targets, on_next)
    if combinators:
        if operators or "Variable" in rule or len(combinators) > 1:
            yield error(
                "A Choice Rule with And, Or or Not must have exactly one of them and no "
                "Variable or comparison operator",
                loc,
            )
        for name in combinators:
            yield from _check_combinator(name, rule[name], ptr(loc, name), targets, on_next)
        return
    if "Variable" not in rule:
        yield required(["Variable"], loc)
    else:
        yield from check_path(rule["Variable"], ptr(loc, "Variable"), "Variable")
    if not operators:
        yield error(
            "A Choice Rule must have exactly one comparison operator (e.g. StringEquals, "
            "NumericGreaterThan, IsPresent) or one of And, Or, Not",
            loc,
        )
        return
    if len(operators) > 1:
        yield error(
            f"A Choice Rule must have exactly one comparison operator, found {len(operators)}: "
            f"{', '.join(operators)}",
            loc,
        )
    for name in operators:
        yield from _check_operand(name, rule[name], ptr(loc, name))


def _check_combinator(
    name: str, value: JSON, loc: str, targets: set[str], on_next: Callable[[str], None]
) -> Diagnostics:
    if name == "Not":
        yield from _check_rule(value, loc, top=False, targets=targets, on_next=on_next)
        return
    if not isinstance(value, list) or not value:
        yield error(f"'{name}' must be a non-empty array of Choice Rules", loc)
        return
    for index, rule in enumerate(value):
        yield from _check_rule(rule, ptr(loc, index), top=False, targets=targets, on_next=on_next)


def _check_operand(name: str, value: JSON, loc: str) -> Diagnostics:
    kind = OPERATORS[name]
    if kind == "path":
        return check_path(value, loc, name)
    return _check_literal(value, loc, name, kind)


@accepts_placeholder
def _check_literal(value: JSON, loc: str, name: str, kind: str) -> Diagnostics:
    if kind == "timestamp" and isinstance(value, str) and not _operand_ok(kind, value):
        yield error(
            f"The value of '{name}' must be a timestamp such as '2016-03-14T01:59:00Z', got "
            f"{value!r}",
            loc,
        )
    elif not _operand_ok(kind, value):
        article = "an" if kind[0] in "aeiou" else "a"
        yield error(f"The value of '{name}' must be {article} {kind}, not {type_name(value)}", loc)
