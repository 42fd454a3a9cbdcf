"""JSONata in ASL without the JSONata parser: recognising `{% %}` strings, the compiled field
value (`JsonataValue`) and its evaluation, the `$states` binding, and the error AWS reports.

Owns: what the interpreter needs of JSONata to run a state, so that it imports this module
and never jsonata.py, which loads jsonata-python (~20 ms at start-up, and subclasses its
classes at import). A JSONPath machine thus runs without jsonata-python; a JSONata machine
gets it when compile.py compiles its first `{% %}` field (`compile_value`, in jsonata.py,
builds the `JsonataValue`s this module defines). Must never: import jsonata-python or
jsonata.py (tests/cli/test_cold_start.py checks that a JSONPath run does not load them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from engine.definition.scope import Scope
from engine.errors import STATES_QUERY_EVALUATION_ERROR, StatesError
from engine.values import JSON, dumps, type_name

if TYPE_CHECKING:
    from engine.definition.jsonata import JsonataExpression

__all__ = [
    "MISSING",
    "Evaluator",
    "JsonataValue",
    "QueryEvaluationError",
    "expression_text",
    "is_expression",
    "states_binding",
    "subject",
    "unexpected_type_cause",
]

_OPEN: Final = "{%"
_CLOSE: Final = "%}"


def is_expression(value: object) -> bool:
    """Whether a JSON value is a JSONata expression string: `{% ... %}`."""
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
    )


def expression_text(value: str) -> str:
    """The expression inside `{% ... %}`, without the surrounding blanks (as AWS quotes it)."""
    return value[2:-2].strip()


class QueryEvaluationError(StatesError):
    """States.QueryEvaluationError raised while evaluating a JSONata field.

    `location` is the field path inside the state (`Output/result`), which AWS reports in the
    EvaluationFailed event; `cause` is AWS's text without the interpreter's state prefix.
    """

    def __init__(self, cause: str, location: str) -> None:
        super().__init__(STATES_QUERY_EVALUATION_ERROR, cause)
        self.location = location


def subject(text: str, location: str) -> str:
    """How every AWS cause about an expression starts: which expression, in which field."""
    return f"The JSONata expression '{text}' specified for the field '{location}'"


def unexpected_type_cause(text: str, location: str, expected: str, value: JSON) -> str:
    """AWS's cause when a typed field's expression returned a value of the wrong JSON type."""
    return (
        f"{subject(text, location)} returned an unexpected result type. Expected "
        f"'{expected}', but was '{type_name(value)}' for value: {dumps(value)}"
    )


MISSING: Final = object()
"""Marks a `$states` member the state does not have (`result` before a result exists)."""


def states_binding(
    input: JSON,  # noqa: A002 - AWS's name ($states.input)
    context: JSON = None,
    *,
    result: object = MISSING,
    error_output: object = MISSING,
) -> dict[str, object]:
    """The `$states` object: input, context and, where the state has them, result/errorOutput."""
    states: dict[str, object] = {"input": input}
    if context is not None:
        states["context"] = context
    if result is not MISSING:
        states["result"] = result
    if error_output is not MISSING:
        states["errorOutput"] = error_output
    return states


Evaluator: TypeAlias = Callable[[Mapping[str, object], Scope, float | None], JSON]


@dataclass(frozen=True, slots=True, eq=False)
class JsonataValue:
    """A field value in a JSONata state: constants kept as is, `{% %}` strings evaluated.

    Objects and arrays are walked to any depth. A value without expressions is returned by
    reference (never mutate an evaluated value). `expression` is set when the whole value is one
    expression (typed fields check its result's type and quote its text).
    """

    source: JSON
    location: str
    expression: JsonataExpression | None
    _build: Evaluator | None

    @property
    def constant(self) -> bool:
        return self._build is None

    def evaluate(
        self, states: Mapping[str, object], scope: Scope, now: float | None = None
    ) -> JSON:
        build = self._build
        if build is None:
            return self.source
        return build(states, scope, now)

    def evaluate_typed(
        self,
        states: Mapping[str, object],
        scope: Scope,
        expected: str,
        now: float | None = None,
    ) -> JSON:
        """Evaluate and require the JSON type `expected` ('array', 'number', 'string', ...)."""
        value = self.evaluate(states, scope, now)
        if self.expression is not None and type_name(value) != expected:
            raise QueryEvaluationError(
                unexpected_type_cause(self.expression.text, self.location, expected, value),
                self.location,
            )
        return value
