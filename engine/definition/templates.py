"""ASL payload templates (JSONPath mode): Parameters, ResultSelector, ItemSelector, legacy Map
Parameters, compiled once and evaluated per state entry.

Owns: turning a template value into a `Template` whose `evaluate(data, scope)` builds the payload:
a key ending in `.$` takes a path (`$.x`, `$$.x`, `$var.x`) or an intrinsic function call
(`States.Format(...)`), and its output key drops the `.$`; every other value is copied as is, in
objects nested at any depth, arrays included. Must never: parse text at run time, know which state
field the template came from, or mutate the data it reads.

Sharing rule: constant parts of a template (a whole constant template, or constant values inside a
dynamic one) are computed once at compile time and *returned by reference* on every evaluation,
and path results are the input's own subtrees. So an evaluated payload may share structure with
the definition and with the state input: nobody may mutate an evaluated output in place (AWS
payloads are JSON values; build a new value instead).

Errors: a malformed template (non-string value for a `.$` key, malformed path or intrinsic) is an
`ExpressionSyntaxError` at compile time naming the offending key. At run time a path that matches
nothing raises `StatesError(States.Runtime, ...)` with AWS's cause "The JSONPath '$.x' specified
for the field 'x.$' could not be found in the input '{...}'": AWS records States.Runtime here, not
the States.ParameterPathFailure the spec names (conformance case
`localstack/scenarios/test_base_scenarios/test_invalid_jsonpath.INVALID_JSONPATH_IN_STRING_EXPR_JSONPATH`;
a 2022 AWS history of a Task's Parameters shows the same error and wording with the input `'{}'`).
The interpreter adds AWS's "An error occurred while executing the state ..." prefix.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.definition.paths import Path, PathNoMatch, compile_path
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON, dumps

__all__ = ["Template", "compile_template", "parameter_path_cause"]

Builder = Callable[[JSON, Scope], JSON]


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled payload template. `evaluate` never mutates `data` (see the sharing rule)."""

    source: JSON
    constant: bool
    _value: JSON = field(default=None, repr=False, compare=False)
    _build: Builder | None = field(default=None, repr=False, compare=False)

    def evaluate(self, data: JSON, scope: Scope) -> JSON:
        """The payload for `data` (the state's effective input, or the task result)."""
        build = self._build
        if build is None:
            return self._value
        return build(data, scope)


def parameter_path_cause(path_text: str, field_name: str, data: JSON) -> str:
    """AWS's cause for a `.$` path that matched nothing (input rendered as compact JSON)."""
    return (
        f"The JSONPath '{path_text}' specified for the field '{field_name}' could not be found "
        f"in the input '{dumps(data)}'"
    )


def compile_template(value: JSON) -> Template:
    """Compile a payload template. Raises `ExpressionSyntaxError` naming the offending key."""
    build = _compile(value, "")
    if build is None:
        # Copied once so later edits of the caller's definition dict cannot leak into outputs.
        return Template(source=value, constant=True, _value=copy.deepcopy(value))
    return Template(source=value, constant=False, _build=build)


def _compile(value: JSON, where: str) -> Builder | None:
    """A builder for `value`, or None when `value` is constant (contains no `.$` key)."""
    if isinstance(value, dict):
        return _compile_object(value, where)
    if isinstance(value, list):
        return _compile_array(value, where)
    return None


def _compile_object(value: dict[str, JSON], where: str) -> Builder | None:
    entries: list[tuple[str, JSON, Builder | None]] = []
    dynamic = False
    for key, item in value.items():
        location = f"{where}/{key}"
        if key.endswith(".$"):
            entries.append((key[:-2], None, _compile_expression(key, item, location)))
            dynamic = True
            continue
        builder = _compile(item, location)
        if builder is None:
            entries.append((key, copy.deepcopy(item), None))
        else:
            entries.append((key, None, builder))
            dynamic = True
    if not dynamic:
        return None
    fields = tuple(entries)

    def build_object(data: JSON, scope: Scope) -> JSON:
        out: dict[str, JSON] = {}
        for key, constant, builder in fields:
            out[key] = constant if builder is None else builder(data, scope)
        return out

    return build_object


def _compile_array(value: list[JSON], where: str) -> Builder | None:
    items: list[tuple[JSON, Builder | None]] = []
    dynamic = False
    for index, item in enumerate(value):
        builder = _compile(item, f"{where}/{index}")
        items.append((copy.deepcopy(item) if builder is None else None, builder))
        dynamic = dynamic or builder is not None
    if not dynamic:
        return None
    elements = tuple(items)

    def build_array(data: JSON, scope: Scope) -> JSON:
        return [
            constant if builder is None else builder(data, scope) for constant, builder in elements
        ]

    return build_array


def _compile_expression(key: str, text: JSON, location: str) -> Builder:
    """The builder of one `.$` field: a path, or an intrinsic function call."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(
            f"The value for the field '{key}' (at {location}) must be a string holding a JSONPath "
            f"('$.field', '$$.Context', '$variable') or an intrinsic function call "
            f"('States.Format(...)'), not {type(text).__name__ if text is not None else 'null'}"
        )
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except ExpressionSyntaxError as exc:
            raise ExpressionSyntaxError(
                f"The value for the field '{key}' (at {location}) is not a valid path: "
                f"{exc.message}",
                exc.position,
            ) from None
        return _path_builder(path, key)
    return _intrinsic_builder(key, text, location)


def _path_builder(path: Path, key: str) -> Builder:
    find = path.find

    def build_path(data: JSON, scope: Scope) -> JSON:
        try:
            return find(data, scope)
        except PathNoMatch:
            raise StatesError(STATES_RUNTIME, parameter_path_cause(path.text, key, data)) from None

    return build_path


def _intrinsic_builder(key: str, text: str, location: str) -> Builder:
    # Imported here: intrinsics imports paths too, and templates without intrinsic calls (most)
    # should not pay for loading it.
    try:
        from engine.definition.intrinsics import is_intrinsic, parse_intrinsic
    except ImportError:  # pragma: no cover - only while the intrinsics module is being written
        raise ExpressionSyntaxError(
            f"The value for the field '{key}' (at {location}): intrinsic functions are not "
            "available in this build"
        ) from None
    if not is_intrinsic(text):
        raise ExpressionSyntaxError(
            f"The value for the field '{key}' (at {location}) must be a JSONPath starting with "
            f"'$' or an intrinsic function call such as 'States.Format(...)', got {text!r}"
        )
    try:
        call = parse_intrinsic(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(
            f"The value for the field '{key}' (at {location}) is not a valid intrinsic function "
            f"call: {exc.message}",
            exc.position,
        ) from None
    evaluate: Builder = call.evaluate
    return evaluate
