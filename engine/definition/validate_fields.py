"""Field-level validation rules: value types and ranges, paths, templates, JSONata, intrinsics.

Owns: the small generator functions that judge one field's value (a number's range, a path's
syntax, a payload template, a JSONata `{% %}` string, Retry/Catch entries, Choice rules) and
yield located `Diagnostic`s, plus the catalogue of diagnostic codes. Must never: walk the state
graph or decide which fields a state may have (validate.py and validate_states.py do), raise on
any JSON input, or compile an expression more than once per distinct text (every compiler call
goes through a cache: validation of a 50-state machine must stay well under 2 ms).

Codes: AWS's ValidateStateMachineDefinition codes where AWS has one. AWS reports malformed
paths, templates and intrinsic calls as SCHEMA_VALIDATION_FAILED ("The value for the field
'parsed.$' must be a valid JSONPath or a valid intrinsic function call", recorded in conformance
case `localstack/create/illegal-escapes/...`), so those use that code too. Warnings that AWS
has no code for use our own names (RETRIER_NEVER_APPLIES, CATCHER_NEVER_APPLIES).

Placeholders: a `${Name}` left by SAM/CloudFormation DefinitionSubstitutions is never an error.
`check_placeholders` warns once per string that holds one, in any field, and the typed checks
(numbers, timestamps, Choice operands) take a placeholder through the one rule
`accepts_placeholder`. Fields that shape the machine (Type, Next, StartAt, QueryLanguage, paths,
ProcessorConfig) are still judged: the engine cannot build a machine around an unknown name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Concatenate, ParamSpec

from engine.definition.diagnostics import Diagnostic, Severity, escape_pointer_token
from engine.definition.paths import compile_path, compile_reference_path
from engine.definition.placeholders import (
    iter_unresolved,
    mentions_placeholder,
    placeholder_in,
)
from engine.definition.timestamps import timestamp_key
from engine.errors import STATES_ALL, ExpressionSyntaxError
from engine.values import JSON, type_name

# --- codes -----------------------------------------------------------------------------------
SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON_DESCRIPTION = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
INVALID_RESOURCE = "INVALID_RESOURCE"
UNRESOLVED_PLACEHOLDER = "UNRESOLVED_PLACEHOLDER"
MISSING_END_STATE = "MISSING_END_STATE"
DUPLICATE_STATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME = "INVALID_LABEL_NAME"
MISSING_TRANSITION_TARGET = "MISSING_TRANSITION_TARGET"
NESTING_LIMIT_EXCEEDED = "NESTING_LIMIT_EXCEEDED"  # no AWS code: the limits below are ours
UNSUPPORTED_FEATURE = "UNSUPPORTED_FEATURE"  # valid on AWS, not run by this engine
# warnings
NO_DOLLAR = "NO_DOLLAR"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"  # noqa: S105 - a code, not a password
RETRIER_NEVER_APPLIES = "RETRIER_NEVER_APPLIES"
CATCHER_NEVER_APPLIES = "CATCHER_NEVER_APPLIES"

JSONPATH = "JSONPath"
JSONATA = "JSONata"
QUERY_LANGUAGES = (JSONPATH, JSONATA)

MAX_SECONDS = 99_999_999
"""AWS's upper bound for IntervalSeconds, MaxAttempts, TimeoutSeconds, HeartbeatSeconds, Wait."""
MAX_DELAY_SECONDS = 31_622_400
"""AWS's upper bound for a retrier's MaxDelaySeconds (366 days)."""

# AWS publishes no nesting limit; its only bound is the definition's size (1 MiB), which would
# allow ~10,000 nested Parallels. Each level is a frame the interpreter keeps and a level of the
# Parallel's output, and a hostile definition nested ~2,000 deep crashed the runtime (issue 13).
# Real machines nest a handful of levels; 100 leaves them ample room and keeps every walk of a
# definition, an execution's frames and its output shallow (docs/validation.md, "Limits").
MAX_STATE_NESTING = 100
"""How many Parallel and Map states may enclose one another (a Parallel in a branch of a
Parallel is 2 deep)."""

Diagnostics = Iterable[Diagnostic]
"""What every check returns: usually a generator; `NONE` (an empty tuple) on the fast path,
because most values are valid and creating a generator per field is the validator's main cost."""
NONE: tuple[Diagnostic, ...] = ()


def ptr(loc: str, token: str | int) -> str:
    """`loc` extended by one JSON-pointer token; the common case is a plain concatenation.

    Locations are built for every field visited, so this is on the validator's hot path.
    """
    if isinstance(token, int):
        return f"{loc}/{token}"
    if "~" in token or "/" in token:
        return f"{loc}/{escape_pointer_token(token)}"
    return f"{loc}/{token}"


def error(message: str, location: str, code: str = SCHEMA_VALIDATION_FAILED) -> Diagnostic:
    return Diagnostic(code, message, location, Severity.ERROR)


def warning(code: str, message: str, location: str) -> Diagnostic:
    return Diagnostic(code, message, location, Severity.WARNING)


def unsupported(name: str, loc: str, why: str = "") -> Diagnostic:
    return error(f"The field '{name}' is not supported by Step Functions{why}", ptr(loc, name))


def required(names: list[str], loc: str) -> Diagnostic:
    return error(f"These fields are required: [{', '.join(names)}]", loc)


def _is_number(value: JSON) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: JSON) -> bool:
    """JSON Schema `integer`: 3 and 3.0 are integers, true is not."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# --- placeholders ----------------------------------------------------------------------------
_P = ParamSpec("_P")


def accepts_placeholder(
    check: Callable[Concatenate[JSON, _P], Diagnostics],
) -> Callable[Concatenate[JSON, _P], Diagnostics]:
    """The one rule for a typed field (a number, a timestamp, a Choice operand) holding an
    unsubstituted `${Name}` placeholder: its value is unknown, not wrong, so `check` does not
    judge it. `check_placeholders` warns about it instead (UNRESOLVED_PLACEHOLDER), and the
    engine fails the state with States.Runtime when it is entered (placeholders.py).
    """

    @functools.wraps(check)
    def judged(value: JSON, /, *args: _P.args, **kwargs: _P.kwargs) -> Diagnostics:
        if type(value) is str and placeholder_in(value) is not None:
            return NONE
        return check(value, *args, **kwargs)

    return judged


_SUBSTITUTE = "(SAM/CloudFormation DefinitionSubstitutions)"


def check_placeholders(definition: JSON) -> Diagnostics:
    """One UNRESOLVED_PLACEHOLDER warning for every string in the definition that holds a
    `${Name}` placeholder, whatever its field; the message says what the engine does with it.
    """
    if not mentions_placeholder(definition):
        return
    typed = {loc for loc, _ in iter_unresolved(definition)}
    for loc, tokens, text, placeholder in _strings_with_placeholders(definition, "", ()):
        field = next((t for t in reversed(tokens) if isinstance(t, str)), "")
        if loc in typed:
            outcome = (
                "every execution fails when it enters its first state"
                if loc == "/TimeoutSeconds"
                else "the state fails with States.Runtime when it is entered"
            )
            message = (
                f"'{field}' holds the unsubstituted template placeholder '{placeholder}' "
                f"{_SUBSTITUTE} where {_expected(field)} is expected; substitute its value "
                f"before running: until then {outcome}"
            )
        elif field == "Resource" and len(tokens) >= 3 and tokens[-3] == "States":
            what = (
                "is an unsubstituted template placeholder"
                if text == placeholder
                else f"holds the unsubstituted template placeholder '{placeholder}'"
            )
            message = (
                f"Resource {text!r} {what}; AWS rejects it until it is substituted with an ARN "
                f"{_SUBSTITUTE}. It runs here only when a mock config mocks this state."
            )
        elif field == "FunctionName" and _invokes_lambda(definition, tokens):
            # backends/mocked.py treats it as the Task's target, like a Resource.
            message = (
                f"FunctionName {text!r} holds the unsubstituted template placeholder "
                f"'{placeholder}' {_SUBSTITUTE}; substitute it with a function name or ARN "
                "before running. It runs here only when a mock config mocks this state."
            )
        else:
            message = (
                f"'{field}' holds the unsubstituted template placeholder '{placeholder}' "
                f"{_SUBSTITUTE}; substitute its value before running"
            )
            if _PASSED_ON.intersection(t for t in tokens if isinstance(t, str)):
                message += ": until then the text is passed on as written"
        yield warning(UNRESOLVED_PLACEHOLDER, message, loc)


_PASSED_ON = frozenset(
    {"Parameters", "Arguments", "Result", "ResultSelector", "ItemSelector", "BatchInput"}
    | {"Output", "Assign", "Credentials", "Error", "Cause", "Comment"}
)
"""Fields whose text the engine carries as data: a placeholder in them is plain text."""


def _invokes_lambda(definition: JSON, tokens: tuple[str | int, ...]) -> bool:
    """Whether `tokens` is a Task's Parameters/Arguments.FunctionName for lambda:invoke."""
    if len(tokens) < 4 or tokens[-4] != "States" or tokens[-2] not in ("Parameters", "Arguments"):
        return False
    state: JSON = definition
    for token in tokens[:-2]:
        if isinstance(state, dict) and isinstance(token, str):
            state = state.get(token)
        elif isinstance(state, list) and isinstance(token, int):
            state = state[token]
        else:
            return False
    resource = state.get("Resource") if isinstance(state, dict) else None
    return isinstance(resource, str) and resource.startswith("arn:aws:states:::lambda:invoke")


def _expected(field: str) -> str:
    if field.startswith("Timestamp"):
        return "a timestamp"
    if field.startswith(("Boolean", "Is")):
        return "a boolean"
    return "a number"


def _strings_with_placeholders(
    value: JSON, loc: str, tokens: tuple[str | int, ...]
) -> Iterable[tuple[str, tuple[str | int, ...], str, str]]:
    if isinstance(value, str):
        placeholder = placeholder_in(value)
        if placeholder is not None:
            yield loc, tokens, value, placeholder
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str | dict | list):
                yield from _strings_with_placeholders(item, ptr(loc, key), (*tokens, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str | dict | list):
                yield from _strings_with_placeholders(item, ptr(loc, index), (*tokens, index))


# --- plain values ----------------------------------------------------------------------------
def check_string(value: JSON, loc: str, name: str) -> Diagnostics:
    if isinstance(value, str):
        return NONE
    return (error(f"The value of '{name}' must be a string, not {type_name(value)}", loc),)


@accepts_placeholder
def check_integer(
    value: JSON, loc: str, name: str, minimum: int, maximum: int = MAX_SECONDS
) -> Diagnostics:
    """An integer field with AWS's range, e.g. MaxAttempts 0..99999999."""
    if type(value) is int and minimum <= value <= maximum:
        return NONE
    return _integer_problems(value, loc, name, minimum, maximum)


def _integer_problems(value: JSON, loc: str, name: str, minimum: int, maximum: int) -> Diagnostics:
    if not _is_integer(value):
        yield error(
            f"The value of '{name}' must be an integer, not {type_name(value)} ({value!r})", loc
        )
    elif not minimum <= value <= maximum:  # type: ignore[operator]
        yield error(
            f"The value of '{name}' must be between {minimum} and {maximum}, got {value!r}", loc
        )


@accepts_placeholder
def check_number(
    value: JSON, loc: str, name: str, minimum: float, maximum: float | None = None
) -> Diagnostics:
    if not _is_number(value):
        yield error(f"The value of '{name}' must be a number, not {type_name(value)}", loc)
    elif maximum is None and value < minimum:  # type: ignore[operator]
        yield error(f"The value of '{name}' must be at least {minimum:g}, got {value!r}", loc)
    elif maximum is not None and not minimum <= value <= maximum:  # type: ignore[operator]
        yield error(
            f"The value of '{name}' must be between {minimum:g} and {maximum:g}, got {value!r}",
            loc,
        )


def check_enum(value: JSON, loc: str, name: str, allowed: tuple[str, ...]) -> Diagnostics:
    if value not in allowed:
        choices = ", ".join(allowed)
        yield error(f"The value of '{name}' must be one of [{choices}], got {value!r}", loc)


# --- paths -----------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _path_problem(text: str, reference: bool) -> str | None:
    try:
        if reference:
            compile_reference_path(text)
        else:
            compile_path(text)
    except ExpressionSyntaxError as exc:
        return exc.message
    except Exception as exc:  # a path library bug must not make validation raise
        return f"{text!r} could not be parsed ({exc})"
    return None


def check_path(
    value: JSON, loc: str, name: str, *, reference: bool = False, nullable: bool = False
) -> Diagnostics:
    """A JSONPath field (InputPath, ItemsPath, ...Path); `reference` forbids wildcards etc."""
    if (value is None and nullable) or (
        isinstance(value, str) and _path_problem(value, reference) is None
    ):
        return NONE
    return _path_problems(value, loc, name, reference)


def _path_problems(value: JSON, loc: str, name: str, reference: bool) -> Diagnostics:
    kind = "a valid ReferencePath" if reference else "a valid JSONPath"
    if not isinstance(value, str):
        yield error(f"The value for the field '{name}' must be {kind}, not {type_name(value)}", loc)
        return
    problem = _path_problem(value, reference)
    if problem is not None:
        yield error(f"The value for the field '{name}' must be {kind}: {problem}", loc)


def check_result_path(value: JSON, loc: str, name: str = "ResultPath") -> Diagnostics:
    """ResultPath: null, or a reference path into the state's data (not `$$`, not `$var`)."""
    if value is None or (
        isinstance(value, str)
        and value.startswith(("$.", "$["))
        and _path_problem(value, True) is None
    ):
        return NONE
    return _result_path_problems(value, loc, name)


def _result_path_problems(value: JSON, loc: str, name: str) -> Diagnostics:
    if isinstance(value, str) and not (value == "$" or value.startswith(("$.", "$[", "$ "))):
        yield error(
            f"The value for the field '{name}' must be a valid ReferencePath starting with '$' "
            f"(the state's data), got {value!r}; the context object and variables cannot be "
            "written",
            loc,
        )
        return
    yield from check_path(value, loc, name, reference=True)


@lru_cache(maxsize=4096)
def _intrinsic_problem(text: str) -> str | None:
    # Imported here: only a definition with an intrinsic call needs the intrinsics (and
    # hashlib, difflib...): `asl validate` of one without starts faster (bench section 3).
    from engine.definition.intrinsics import parse_intrinsic

    try:
        parse_intrinsic(text)
    except ExpressionSyntaxError as exc:
        return exc.message
    except Exception as exc:  # an intrinsics parser bug must not make validation raise
        return f"{text!r} could not be parsed ({exc})"
    return None


def check_path_or_intrinsic(value: JSON, loc: str, name: str) -> Diagnostics:
    """The value of a `.$` template key, ErrorPath or CausePath: a path or an intrinsic call."""
    if isinstance(value, str) and value.startswith("$") and _path_problem(value, False) is None:
        return NONE
    return _path_or_intrinsic_problems(value, loc, name)


def _path_or_intrinsic_problems(value: JSON, loc: str, name: str) -> Diagnostics:
    message = f"The value for the field '{name}' must be a valid JSONPath or a valid intrinsic "
    message += "function call"
    if not isinstance(value, str):
        yield error(f"{message}, not {type_name(value)}", loc)
        return
    if value.startswith("States."):
        problem = _intrinsic_problem(value)
    elif value.startswith("$"):
        problem = _path_problem(value, False)
    else:
        problem = f"{value!r} starts with neither '$' nor 'States.'"
    if problem is not None:
        yield error(f"{message}: {problem}", loc)


# --- payload templates (JSONPath) ------------------------------------------------------------
_LOOKS_DYNAMIC = re.compile(r"\$\.|\$\[|\$\$\.|States\.[A-Za-z]+\(")


def check_template(value: JSON, loc: str) -> Diagnostics:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Arguments...).

    Keys ending in `.$` take a path or an intrinsic call; other values are literal, and a
    literal that looks like a path is AWS's NO_DOLLAR warning.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            at = ptr(loc, key)
            if key.endswith(".$"):
                yield from check_path_or_intrinsic(item, at, key)
            elif isinstance(item, str):
                if _LOOKS_DYNAMIC.match(item):
                    yield warning(
                        NO_DOLLAR,
                        f"The value of '{key}' looks like a JSONPath or an intrinsic function "
                        f"call but is used as a literal; write the key as '{key}.$' to evaluate it",
                        at,
                    )
            else:
                yield from check_template(item, at)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from check_template(item, ptr(loc, index))


# --- JSONata ---------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _jsonata_problem(expression: str) -> str | None:
    # Imported here: only a definition holding a `{% %}` string needs jsonata-python (and RE2),
    # so that `asl validate` of a JSONPath machine never loads them (~20 ms at start-up).
    import jsonata

    from engine.definition.regexes import check_regex

    try:
        # check_regex: a regex literal RE2 cannot run (lookaround, backreferences) is refused.
        jsonata.Jsonata(expression, check_regex)
    except Exception as exc:  # jsonata-python raises JException (a RuntimeError) and others
        return str(exc) or type(exc).__name__
    return None


def jsonata_string_problem(text: str) -> str | None:
    """Why a `{% ... %}` string is not a valid JSONata expression, or None when it is fine.

    Strings that do not start with `{%` are literals and always fine.
    """
    if not text.startswith("{%"):
        return None
    if len(text) < 4 or not text.endswith("%}"):
        return "a JSONata expression must be written as '{% <expression> %}' and end with '%}'"
    problem = _jsonata_problem(text[2:-2])
    if problem is not None:
        return f"the JSONata expression is not valid: {problem}"
    return None


def check_jsonata_value(value: JSON, loc: str, name: str) -> Diagnostics:
    """Any JSON value in a JSONata state: every `{% %}` string inside it must parse."""
    if isinstance(value, str):
        problem = jsonata_string_problem(value)
        if problem is not None:
            yield error(f"The value of '{name}' is invalid: {problem}", loc)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from check_jsonata_value(item, ptr(loc, key), key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from check_jsonata_value(item, ptr(loc, index), name)


def is_jsonata(value: JSON) -> bool:
    return isinstance(value, str) and value.startswith("{%")


def check_jsonata_or(
    value: JSON, loc: str, name: str, literal: Callable[[JSON, str, str], Diagnostics]
) -> Diagnostics:
    """A field that takes either a `{% %}` expression or a literal judged by `literal`."""
    if is_jsonata(value):
        yield from check_jsonata_value(value, loc, name)
    else:
        yield from literal(value, loc, name)


# --- Assign ----------------------------------------------------------------------------------
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_VARIABLE_NAME = 80


def check_assign(value: JSON, loc: str, query_language: str) -> Diagnostics:
    """Assign: an object of variable names; `.$` keys (JSONPath) or `{% %}` values (JSONata)."""
    if not isinstance(value, dict):
        yield error(f"The value of 'Assign' must be an object, not {type_name(value)}", loc)
        return
    for key, item in value.items():
        at = ptr(loc, key)
        name = key[:-2] if query_language == JSONPATH and key.endswith(".$") else key
        if not _VARIABLE_NAME.fullmatch(name) or len(name) > _MAX_VARIABLE_NAME:
            yield error(
                f"The variable name '{name}' is not valid: use letters, digits and '_' "
                f"(not starting with a digit), at most {_MAX_VARIABLE_NAME} characters",
                at,
            )
        elif query_language == JSONATA and name == "states":
            yield error("'states' is a reserved variable name; choose another name", at)
        if query_language == JSONATA:
            yield from check_jsonata_value(item, at, key)
        elif key.endswith(".$"):
            yield from check_path_or_intrinsic(item, at, key)
        else:
            yield from check_template(item, at)


# --- Retry and Catch -------------------------------------------------------------------------
RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = {
    JSONPATH: frozenset({"ErrorEquals", "Next", "ResultPath", "Assign", "Comment"}),
    JSONATA: frozenset({"ErrorEquals", "Next", "Output", "Assign", "Comment"}),
}


def _check_error_equals(
    entry: dict[str, JSON], loc: str, index: int, count: int, kind: str
) -> Diagnostics:
    if "ErrorEquals" not in entry:
        yield required(["ErrorEquals"], loc)
        return
    errors = entry["ErrorEquals"]
    at = ptr(loc, "ErrorEquals")
    if not isinstance(errors, list) or not errors:
        yield error("'ErrorEquals' must be a non-empty array of error names", at)
        return
    for i, name in enumerate(errors):
        if not isinstance(name, str):
            yield error(f"An error name must be a string, not {type_name(name)}", ptr(at, i))
    if STATES_ALL in errors and (len(errors) != 1 or index != count - 1):
        yield error(
            f"'{STATES_ALL}' must appear alone in ErrorEquals and in the last {kind}; move it "
            "to its own, final entry",
            at,
        )


def check_retry(value: JSON, loc: str) -> Diagnostics:
    if not isinstance(value, list):
        yield error(f"The value of 'Retry' must be an array, not {type_name(value)}", loc)
        return
    seen: set[str] = set()
    for index, entry in enumerate(value):
        at = ptr(loc, index)
        if not isinstance(entry, dict):
            yield error(f"A retrier must be an object, not {type_name(entry)}", at)
            continue
        for name in entry:
            if name not in RETRIER_FIELDS:
                yield unsupported(name, at)
        yield from _check_error_equals(entry, at, index, len(value), "retrier")
        if "IntervalSeconds" in entry:
            where = ptr(at, "IntervalSeconds")
            yield from check_integer(entry["IntervalSeconds"], where, "IntervalSeconds", 1)
        if "MaxAttempts" in entry:
            where = ptr(at, "MaxAttempts")
            yield from check_integer(entry["MaxAttempts"], where, "MaxAttempts", 0)
        if "BackoffRate" in entry:
            where = ptr(at, "BackoffRate")
            yield from check_number(entry["BackoffRate"], where, "BackoffRate", 1.0)
        if "MaxDelaySeconds" in entry:
            where = ptr(at, "MaxDelaySeconds")
            yield from check_integer(
                entry["MaxDelaySeconds"], where, "MaxDelaySeconds", 1, MAX_DELAY_SECONDS
            )
        if "JitterStrategy" in entry:
            where = ptr(at, "JitterStrategy")
            yield from check_enum(
                entry["JitterStrategy"], where, "JitterStrategy", ("FULL", "NONE")
            )
        yield from _shadowed(entry, at, seen, RETRIER_NEVER_APPLIES, "retrier")


def _shadowed(
    entry: dict[str, JSON], loc: str, seen: set[str], code: str, kind: str
) -> Diagnostics:
    """Warn when every error an entry names was already taken by an earlier entry."""
    errors = entry.get("ErrorEquals")
    if not isinstance(errors, list):
        return
    names = {e for e in errors if isinstance(e, str)}
    if not names:
        return
    if STATES_ALL not in names and (STATES_ALL in seen or names <= seen):
        yield warning(
            code,
            f"This {kind} never applies: an earlier {kind} already handles "
            f"{', '.join(sorted(names & seen) or [STATES_ALL])}",
            ptr(loc, "ErrorEquals"),
        )
    seen |= names


def check_catch(
    value: JSON, loc: str, query_language: str, targets: set[str], on_next: Callable[[str], None]
) -> Diagnostics:
    """Catch entries; each `Next` must name a state of the same graph (`targets`)."""
    if not isinstance(value, list):
        yield error(f"The value of 'Catch' must be an array, not {type_name(value)}", loc)
        return
    allowed = _CATCHER_FIELDS[query_language]
    seen: set[str] = set()
    for index, entry in enumerate(value):
        at = ptr(loc, index)
        if not isinstance(entry, dict):
            yield error(f"A catcher must be an object, not {type_name(entry)}", at)
            continue
        for name in entry:
            if name not in allowed:
                yield unsupported(name, at, _language_hint(name, query_language))
        yield from _check_error_equals(entry, at, index, len(value), "catcher")
        if "Next" not in entry:
            yield required(["Next"], at)
        else:
            yield from check_target(entry["Next"], ptr(at, "Next"), targets, on_next)
        if "ResultPath" in entry and query_language == JSONPATH:
            yield from check_result_path(entry["ResultPath"], ptr(at, "ResultPath"))
        if "Output" in entry and query_language == JSONATA:
            yield from check_jsonata_value(entry["Output"], ptr(at, "Output"), "Output")
        if "Assign" in entry:
            yield from check_assign(entry["Assign"], ptr(at, "Assign"), query_language)
        yield from _shadowed(entry, at, seen, CATCHER_NEVER_APPLIES, "catcher")


def check_target(
    value: JSON, loc: str, targets: set[str], on_next: Callable[[str], None]
) -> Diagnostics:
    """A transition (`Next`, `Default`, a catcher's `Next`): a state name of the same graph."""
    if isinstance(value, str) and value in targets:
        on_next(value)
        return NONE
    return _target_problems(value, loc)


def _target_problems(value: JSON, loc: str) -> Diagnostics:
    if not isinstance(value, str):
        yield error(f"A transition target must be a state name, not {type_name(value)}", loc)
        return
    yield error(
        f"Missing 'Next' target: {value}; name a state of the same States object (a "
        "Parallel branch or Map processor cannot leave its own States)",
        loc,
        MISSING_TRANSITION_TARGET,
    )


# --- query-language hints --------------------------------------------------------------------
JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "ItemsPath",
        "Result",
        "SecondsPath",
        "TimestampPath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "ErrorPath",
        "CausePath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "Iterator",
        "Variable",
    }
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Condition", "Items"})


def _language_hint(name: str, query_language: str) -> str:
    if query_language == JSONATA and name in JSONPATH_ONLY:
        return " when QueryLanguage is JSONata (it is a JSONPath field; use Arguments/Output)"
    if query_language == JSONPATH and name in JSONATA_ONLY:
        return " when QueryLanguage is JSONPath (it is a JSONata field; set QueryLanguage)"
    return ""


def language_hint(name: str, query_language: str) -> str:
    return _language_hint(name, query_language)


# --- timestamps ------------------------------------------------------------------------------
@accepts_placeholder
def check_timestamp(value: JSON, loc: str, name: str) -> Diagnostics:
    if not isinstance(value, str):
        yield error(
            f"The value of '{name}' must be a timestamp string, not {type_name(value)}", loc
        )
    elif timestamp_key(value) is None:
        yield error(
            f"String does not match RFC3339 timestamp: {value!r} (write e.g. "
            "'2016-03-14T01:59:00Z')",
            loc,
        )
