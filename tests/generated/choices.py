"""JSONPath Choice rules evaluated from the ASL spec, apart from the engine's own code.

Owns: `evaluate(rule, data)`, the truth of one Choice rule over a state's input, as the ASL
spec ("Choice Rules") and AWS's guide state it: a comparison whose Variable holds a value of
another type is false (not an error); IsPresent tests the path; IsTimestamp accepts AWS's
strict format (`YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)`, at most 9 fraction digits,
offsets within 18 hours); timestamps compare as instants. Must never: import the engine's
Choice, path or timestamp code. Where this module cannot tell, it says so (`Unknown`) and the
visit goes unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from engine.values import JSON


class Unknown(Exception):
    """The rule reads a variable or the context, or its outcome is not specified here."""


class MissingPath(Exception):
    """A comparison's Variable selects nothing: the Choice state fails (States.Runtime)."""


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z"
)


def timestamp(value: JSON) -> int | None:
    """Nanoseconds since the epoch of a timestamp AWS accepts, else None."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        offset = timedelta(hours=hours, minutes=minutes)
        if minutes > 59 or offset > timedelta(hours=18):
            return None
        moment -= offset if zone[0] == "+" else -offset
    nanos = int((fraction or "").ljust(9, "0"))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (moment - epoch) // timedelta(seconds=1) * 1_000_000_000 + nanos


def lookup(data: JSON, path: str) -> tuple[bool, JSON]:
    """A reference path `$` or `$.a.b` over data: (found, value). Others raise Unknown."""
    if path.startswith("$$") or (len(path) > 1 and path[1] not in "."):
        raise Unknown(path)  # the context object or a variable
    value = data
    for key in path.removeprefix("$").split(".")[1:] if path != "$" else []:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _number(value: JSON) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_KINDS: dict[str, Callable[[JSON], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Numeric": _number,
    "Boolean": lambda v: isinstance(v, bool),
    "Timestamp": lambda v: timestamp(v) is not None,
}
_ORDER: dict[str, Callable[[int], bool]] = {
    "Equals": lambda c: c == 0,
    "LessThan": lambda c: c < 0,
    "GreaterThan": lambda c: c > 0,
    "LessThanEquals": lambda c: c <= 0,
    "GreaterThanEquals": lambda c: c >= 0,
}
_TYPE_TESTS: dict[str, Callable[[JSON], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: timestamp(v) is not None,
}
_OPERATOR = re.compile(
    r"(String|Numeric|Boolean|Timestamp)(Equals|LessThanEquals|LessThan|"
    r"GreaterThanEquals|GreaterThan|Matches)(Path)?\Z"
)


def evaluate(rule: Mapping[str, JSON], data: JSON, *, top: bool = True) -> bool:
    """Whether a rule matches `data`. Raises MissingPath (at the top level: the Choice fails)
    or Unknown."""
    if "And" in rule or "Or" in rule:
        operands = rule.get("And", rule.get("Or"))
        assert isinstance(operands, list)
        results = [_nested(operand, data) for operand in operands]
        return all(results) if "And" in rule else any(results)
    if "Not" in rule:
        return not _nested(rule["Not"], data)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise Unknown(rule)
    found, value = lookup(data, variable)
    if "IsPresent" in rule:
        return found == rule["IsPresent"]
    if not found:
        if top:
            raise MissingPath(variable)
        raise Unknown(variable)  # inside And/Or/Not: whether AWS evaluates it is not known
    for name, test in _TYPE_TESTS.items():
        if name in rule:
            return test(value) == rule[name]
    return _compare(rule, value, data)


def _nested(rule: JSON, data: JSON) -> bool:
    assert isinstance(rule, dict)
    return evaluate(rule, data, top=False)


def _compare(rule: Mapping[str, JSON], value: JSON, data: JSON) -> bool:
    for key, operand in rule.items():
        match = _OPERATOR.match(key)
        if match is None:
            continue
        kind, order, from_path = match.groups()
        if from_path:
            assert isinstance(operand, str)
            found, operand = lookup(data, operand)
            if not found or not _KINDS[kind](operand):
                raise Unknown(key)  # a path operand that is missing or of another type
        if not _KINDS[kind](value):
            return False
        if order == "Matches":
            assert isinstance(value, str)
            assert isinstance(operand, str)
            if "\\" in operand:
                raise Unknown(operand)  # escaped asterisks: not generated
            pattern = ".*".join(re.escape(part) for part in operand.split("*"))
            return re.fullmatch(pattern, value, re.DOTALL) is not None
        return _ORDER[order](_cmp(kind, value, operand))
    raise Unknown(rule)


def _cmp(kind: str, left: JSON, right: JSON) -> int:
    if kind == "Timestamp":
        left, right = timestamp(left), timestamp(right)
    if kind == "Boolean":
        return 0 if left == right else 1
    assert isinstance(left, int | float | str)
    assert isinstance(right, int | float | str)
    return (left > right) - (left < right)  # type: ignore[operator]
